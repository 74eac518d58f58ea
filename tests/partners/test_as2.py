from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from partners.as2 import As2Keys, As2Station, StationPartner, as2_transport
from partners.config import Partner, get_partner
from partners.delivery import send_file
from partners.inbound import as2_station_for_home
from partners.ledger import Delivery, DeliveryLedger
from partners.localpeers import write_self_signed
from serialtrace.settings import Home
from tests.partners.conftest import epcis12

AS2_PARTNER = """
[[partner]]
id = "beta"
name = "Loopback AS2 partner"
gln = "0614141000029"
role = "distributor"
epcis_format = "1.2-xml"
transaction_history = true
schedule = "0 * * * *"
ack_deadline_minutes = 30
max_attempts = 2
retry_base_seconds = 0

[partner.transport]
kind = "as2"
url = "{url}"
local_as2_id = "SERIALTRACE"
partner_as2_id = "BETA"
key_file = "keys/serialtrace.pem"
partner_cert_file = "keys/beta.crt"
mdn = "{mdn}"
async_mdn_url = "{mdn_url}"
encryption = "aes_256_cbc"
digest = "sha256"
"""


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three identities generated for the module: us, the partner, an impostor."""
    folder = tmp_path_factory.mktemp("certs")
    for name in ("serialtrace", "beta", "impostor"):
        write_self_signed(folder / f"{name}.pem", folder / f"{name}.crt", name.upper())
    return folder


@dataclass
class PartnerStation:
    """The partner's side: a second AS2 station with its own key, storing what it gets."""

    station: As2Station
    received: list[tuple[str, str, bytes]] = field(default_factory=list)
    refuse: str | None = None


def _partner_station(certs: Path, trusted_sender_cert: str = "serialtrace.crt") -> PartnerStation:
    keys = As2Keys(
        "BETA",
        (certs / "beta.pem").read_bytes(),
        None,
        "SERIALTRACE",
        (certs / trusted_sender_cert).read_bytes(),
    )
    holder: list[PartnerStation] = []

    def on_payload(sender: str, message_id: str, name: str, payload: bytes) -> None:
        if holder[0].refuse:
            raise ValueError(holder[0].refuse)
        holder[0].received.append((message_id, name, payload))

    peer = PartnerStation(As2Station("BETA", {"SERIALTRACE": StationPartner(keys)}, on_payload))
    holder.append(peer)
    peer.station.start()
    return peer


@pytest.fixture
def beta(certs: Path) -> Iterator[PartnerStation]:
    peer = _partner_station(certs)
    yield peer
    peer.station.stop()


def _home(tmp_path: Path, certs: Path, url: str, mdn: str = "sync", mdn_url: str = "") -> Home:
    home = Home(tmp_path / "home").ensure()
    (home.root / "keys").mkdir()
    (home.root / "keys" / "serialtrace.pem").write_bytes((certs / "serialtrace.pem").read_bytes())
    (home.root / "keys" / "beta.crt").write_bytes((certs / "beta.crt").read_bytes())
    (home.root / "partners.toml").write_text(AS2_PARTNER.format(url=url, mdn=mdn, mdn_url=mdn_url))
    return home


def _send(home: Home, partner: Partner, text: str = "a") -> tuple[Path, Delivery]:
    path = home.epcis_outbox / "WO-0001.xml"
    path.write_bytes(epcis12(text))
    return path, send_file(home, partner, as2_transport(home, partner), path)


def test_signed_encrypted_message_with_sync_mdn(
    tmp_path: Path, certs: Path, beta: PartnerStation
) -> None:
    home = _home(tmp_path, certs, beta.station.url)
    partner = get_partner(home, "beta")
    path, delivery = _send(home, partner)
    assert delivery.status == "acknowledged"
    assert delivery.ack_kind == "as2-sync-mdn"
    assert "MIC verified" in (delivery.ack_detail or "")
    [(message_id, name, payload)] = beta.received
    assert message_id == delivery.message_id  # the ledger's ID travels
    assert (name, payload) == ("WO-0001.xml", path.read_bytes())


def test_partner_cannot_verify_our_signature_answers_negative_mdn(
    tmp_path: Path, certs: Path
) -> None:
    impostor_trusting = _partner_station(certs, trusted_sender_cert="impostor.crt")
    try:
        home = _home(tmp_path, certs, impostor_trusting.station.url)
        _, delivery = _send(home, get_partner(home, "beta"))
    finally:
        impostor_trusting.station.stop()
    assert delivery.status == "rejected"
    assert "authentication-failed" in (delivery.failure_reason or "")
    assert impostor_trusting.received == []  # nothing stored from an unverified sender


def test_payload_refused_by_the_partner_is_a_negative_mdn(
    tmp_path: Path, certs: Path, beta: PartnerStation
) -> None:
    beta.refuse = "not an EPCIS document"
    home = _home(tmp_path, certs, beta.station.url)
    _, delivery = _send(home, get_partner(home, "beta"))
    assert delivery.status == "rejected"
    reason = delivery.failure_reason or ""
    assert reason.startswith("processed/Error") and "not an EPCIS document" in reason


def test_mdn_signed_by_someone_else_is_not_an_acknowledgement(
    tmp_path: Path, certs: Path, beta: PartnerStation
) -> None:
    home = _home(tmp_path, certs, beta.station.url)
    # we expect the partner's MDNs to be signed by the impostor's key: verification fails
    (home.root / "keys" / "beta.crt").write_bytes((certs / "impostor.crt").read_bytes())
    _, delivery = _send(home, get_partner(home, "beta"))
    assert delivery.status == "rejected"


def test_partner_down_is_retried_then_failed(tmp_path: Path, certs: Path) -> None:
    home = _home(tmp_path, certs, "http://127.0.0.1:9/as2")  # discard port: refused
    _, delivery = _send(home, get_partner(home, "beta"))
    assert delivery.status == "failed" and delivery.attempts == 2
    assert "gave up after 2 attempts" in (delivery.failure_reason or "")


def test_async_mdn_is_received_by_our_station_and_recorded(
    tmp_path: Path, certs: Path, beta: PartnerStation
) -> None:
    home = _home(tmp_path, certs, beta.station.url, mdn="async", mdn_url="http://x/as2/mdn")
    ours = as2_station_for_home(home).start()
    try:
        (home.root / "partners.toml").write_text(
            AS2_PARTNER.format(url=beta.station.url, mdn="async", mdn_url=ours.mdn_url)
        )
        _, delivery = _send(home, get_partner(home, "beta"))
        # 'acknowledged' already when the MDN overtook the sending call (next test)
        assert delivery.status in ("sent", "acknowledged")
        deadline = time.monotonic() + 60  # generous: CI machines are loaded
        with DeliveryLedger(home.partners_ledger) as ledger:
            while time.monotonic() < deadline:
                current = ledger.get(delivery.message_id)
                assert current is not None
                if current.status != "sent":
                    break
                time.sleep(0.05)
    finally:
        ours.stop()
    assert current is not None
    assert current.status == "acknowledged" and current.ack_kind == "as2-async-mdn"
    assert current.ack_message_id


def test_an_async_mdn_that_overtakes_the_send_is_recorded(
    tmp_path: Path, certs: Path, beta: PartnerStation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The partner's MDN reaches our station while the delivery is still being sent (the
    sending call has not marked it sent yet): it is verified and recorded, not dropped,
    and marking the delivery sent afterwards keeps the acknowledgement."""
    home = _home(tmp_path, certs, beta.station.url, mdn="async", mdn_url="http://x/as2/mdn")
    received = threading.Event()
    answers: list[bytes] = []
    mics: list[str | None] = []
    receive_mdn = As2Station.receive_mdn

    def receive_and_tell(self: As2Station, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        # the MIC the MDN is verified against is in the ledger before the send returns
        with sqlite3.connect(home.partners_ledger) as con:
            mics.extend(row[0] for row in con.execute("select mic from deliveries"))
        answer = receive_mdn(self, raw)
        answers.append(answer[2])
        received.set()
        return answer

    mark_sent = DeliveryLedger.mark_sent

    def mark_sent_after_the_mdn(self: DeliveryLedger, *args: Any, **kwargs: Any) -> None:
        assert received.wait(60), "no MDN reached our station"
        mark_sent(self, *args, **kwargs)

    monkeypatch.setattr(As2Station, "receive_mdn", receive_and_tell)
    monkeypatch.setattr(DeliveryLedger, "mark_sent", mark_sent_after_the_mdn)
    ours = as2_station_for_home(home).start()
    try:
        (home.root / "partners.toml").write_text(
            AS2_PARTNER.format(url=beta.station.url, mdn="async", mdn_url=ours.mdn_url)
        )
        _, delivery = _send(home, get_partner(home, "beta"))
    finally:
        ours.stop()
    assert answers == [b"recorded"]
    assert mics == [delivery.mic] and delivery.mic
    assert delivery.status == "acknowledged" and delivery.ack_kind == "as2-async-mdn"
    assert "MIC verified" in (delivery.ack_detail or "")


def test_our_endpoint_stores_verified_inbound_messages_only(tmp_path: Path, certs: Path) -> None:
    home = _home(tmp_path, certs, "http://127.0.0.1:9/as2")
    ours = as2_station_for_home(home).start()
    try:
        # the partner's side sends to us with its own home and keys
        partner_home = Home(tmp_path / "partner-home").ensure()
        keys = partner_home.root / "keys"
        keys.mkdir()
        (keys / "serialtrace.crt").write_bytes((certs / "serialtrace.crt").read_bytes())
        for signer in ("beta", "impostor"):
            (keys / "me.pem").write_bytes((certs / f"{signer}.pem").read_bytes())
            (partner_home.root / "partners.toml").write_text(
                AS2_PARTNER.replace('"SERIALTRACE"', '"TMP"')
                .replace('partner_as2_id = "BETA"', 'partner_as2_id = "SERIALTRACE"')
                .replace('"TMP"', '"BETA"')
                .replace("keys/serialtrace.pem", "keys/me.pem")
                .replace("keys/beta.crt", "keys/serialtrace.crt")
                .format(url=ours.url, mdn="sync", mdn_url="")
            )
            sender = get_partner(partner_home, "beta")
            path = partner_home.epcis_outbox / f"from-{signer}.xml"
            path.write_bytes(epcis12(signer))
            result = send_file(partner_home, sender, as2_transport(partner_home, sender), path)
            expected = "acknowledged" if signer == "beta" else "rejected"
            assert result.status == expected, result.failure_reason
    finally:
        ours.stop()
    stored = home.epcis_inbox / "beta"
    assert [p.name for p in stored.iterdir()] == ["from-beta.xml"]
    with DeliveryLedger(home.partners_ledger) as ledger:
        [inbound] = [d for d in ledger.deliveries("beta") if d.direction == "inbound"]
    assert inbound.status == "received" and inbound.transport == "as2"
