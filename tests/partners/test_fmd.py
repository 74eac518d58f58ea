from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from partners.config import get_partner
from partners.delivery import drop_pending
from partners.fmd import (
    FmdProduct,
    batch_upload,
    pack_status_update,
    product_master,
    write_fmd_message,
)
from partners.http import http_transport
from partners.onboarding import PartnerStatus  # noqa: F401 (the module must import)
from serialtrace.errors import ValidationError
from serialtrace.settings import Home
from tests.partners.tls import HttpsEndpoint, json_error, make_ca, make_server_cert

MARKET = """
[[partner]]
id = "fmd-{m}"
name = "EU Hub, market {M}"
gln = "0614141000043"
role = "hub"
market = "{M}"
epcis_format = "2.0-jsonld"
transaction_history = false
schedule = "*/10 * * * *"
go_live = true
max_attempts = 1

[partner.transport]
kind = "http"
url = "{url}"
ca_file = "ca.crt"
token_env = ""
"""
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PRODUCT = FmdProduct(
    "05012345678900",
    "Examplamab 10 mg",
    "examplamab",
    "film-coated tablet",
    "10 mg",
    "blister",
    "30",
    "MAH-0001",
    "Example Pharma GmbH",
    atc_codes=("L01XC99",),
)


class HubStandIn:
    """A market repository stand-in: checks each message, answers ACK or an error code."""

    def __init__(self, market: str) -> None:
        self.market = market
        self.products: set[str] = set()
        self.packs: dict[tuple[str, str, str], str] = {}
        self.accepted: list[str] = []

    def __call__(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            message = json.loads(body)
        except ValueError:
            return json_error(400, "not JSON")
        if message.get("format") != "serialtrace-fmd/1" or message.get("market") != self.market:
            return json_error(422, f"wrong format or market {message.get('market')}")
        kind = message["messageType"]
        if kind == "ProductMasterData":
            product = message["product"]
            if not product.get("atcCodes") and not product.get("name"):
                return json_error(422, "A16 missing element")
            self.products.add(product["productCode"])
        elif kind == "BatchPackData":
            batch = message["batch"]
            if batch["productCode"] not in self.products:
                return json_error(422, "unknown product code")
            for serial in batch["serialNumbers"]:
                self.packs[(batch["productCode"], batch["batchId"], serial)] = "ACTIVE"
        elif kind == "PackStatusUpdate":
            for pack in message["packs"]:
                key = (message["productCode"], message["batchId"], pack["serialNumber"])
                if key not in self.packs:
                    return json_error(422, f"NMVS_NC_PC_02 unknown serial {pack['serialNumber']}")
                self.packs[key] = pack["state"]
        else:
            return json_error(422, f"unknown message type {kind}")
        self.accepted.append(kind)
        return 200, {"Content-Type": "application/json"}, b'{"status": "ACK"}'


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = make_ca(folder, "hub-ca")
    make_server_cert(folder, ca_key, ca_cert)
    return folder


@pytest.fixture
def hubs(pki: Path) -> Iterator[dict[str, tuple[HttpsEndpoint, HubStandIn]]]:
    running = {}
    for market in ("DE", "FR"):
        stand_in = HubStandIn(market)
        running[market] = (
            HttpsEndpoint(pki / "server.crt", pki / "server.key", respond=stand_in).start(),
            stand_in,
        )
    yield running
    for endpoint, _ in running.values():
        endpoint.stop()


def _home(tmp_path: Path, pki: Path, hubs: dict[str, tuple[HttpsEndpoint, HubStandIn]]) -> Home:
    home = Home(tmp_path / "home").ensure()
    (home.root / "ca.crt").write_bytes((pki / "hub-ca.crt").read_bytes())
    (home.root / "partners.toml").write_text(
        "".join(
            MARKET.format(m=m.lower(), M=m, url=endpoint.url) for m, (endpoint, _) in hubs.items()
        )
    )
    return home


def test_upload_and_status_update_per_market_through_the_ledger(
    tmp_path: Path, pki: Path, hubs: dict[str, tuple[HttpsEndpoint, HubStandIn]]
) -> None:
    home = _home(tmp_path, pki, hubs)
    serials = ["A1B2C3D4E5", "F6G7H8J9K0"]
    for market in ("DE", "FR"):
        partner = get_partner(home, f"fmd-{market.lower()}")
        write_fmd_message(home, partner, product_master(PRODUCT, market, f"pm-{market}", NOW))
        drop_pending(home, partner, http_transport(home, partner))
        write_fmd_message(
            home,
            partner,
            batch_upload(
                PRODUCT.product_code,
                "LOT42",
                date(2028, 12, 31),
                serials,
                market,
                f"b-{market}",
                NOW,
            ),
        )
        [batch] = drop_pending(home, partner, http_transport(home, partner))
        assert (
            batch.status == "acknowledged" and batch.file_name == f"BatchPackData-b-{market}.json"
        )
    de = get_partner(home, "fmd-de")
    write_fmd_message(
        home,
        de,
        pack_status_update(
            PRODUCT.product_code,
            "LOT42",
            date(2028, 12, 31),
            [(serials[0], "DESTROYED")],
            "DE",
            "s-1",
            NOW,
        ),
    )
    write_fmd_message(
        home,
        de,
        pack_status_update(
            PRODUCT.product_code,
            "LOT42",
            date(2028, 12, 31),
            [("NOTUPLOADED1", "SUPPLIED")],
            "DE",
            "s-2",
            NOW,
        ),
    )
    results = {d.file_name: d for d in drop_pending(home, de, http_transport(home, de))}
    assert results["PackStatusUpdate-s-1.json"].status == "acknowledged"
    rejected = results["PackStatusUpdate-s-2.json"]
    assert rejected.status == "rejected"
    assert "NMVS_NC_PC_02 unknown serial NOTUPLOADED1" in (rejected.failure_reason or "")
    de_hub, fr_hub = hubs["DE"][1], hubs["FR"][1]
    assert de_hub.packs[(PRODUCT.product_code, "LOT42", serials[0])] == "DESTROYED"
    assert fr_hub.packs[(PRODUCT.product_code, "LOT42", serials[0])] == "ACTIVE"  # per market
    assert fr_hub.accepted == ["ProductMasterData", "BatchPackData"]


def test_content_rules_name_the_field() -> None:
    with pytest.raises(ValidationError, match=r"batch\.serialNumbers\[1\]: duplicate serial"):
        batch_upload(PRODUCT.product_code, "L1", date(2028, 1, 1), ["S1", "S1"], "DE", "m", NOW)
    with pytest.raises(ValidationError, match=r"packs\[0\]\.state: must be one of"):
        pack_status_update(
            PRODUCT.product_code, "L1", date(2028, 1, 1), [("S1", "GONE")], "DE", "m", NOW
        )
    with pytest.raises(ValidationError, match=r"product\.productCode"):
        product_master(
            FmdProduct("05012345678901", "n", "c", "f", "s", "t", "1", "m", "n"), "DE", "m", NOW
        )
    with pytest.raises(ValidationError, match="market: must be an ISO 3166"):
        product_master(PRODUCT, "Germany", "m", NOW)


def test_a_message_for_another_market_is_not_placed(
    tmp_path: Path, pki: Path, hubs: dict[str, tuple[HttpsEndpoint, HubStandIn]]
) -> None:
    home = _home(tmp_path, pki, hubs)
    with pytest.raises(ValidationError, match="serves market DE, not FR"):
        write_fmd_message(
            home, get_partner(home, "fmd-de"), product_master(PRODUCT, "FR", "m", NOW)
        )
