"""Files a partner sends reach the EPCIS inbound stage under the partner's policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from epcis.inbound import inbound_dir, rejected_dir
from partners.config import get_partner
from partners.inbound import ingest_received, store_inbound
from partners.ledger import DeliveryLedger
from serialtrace.errors import ValidationError
from serialtrace.settings import Home, conformance_dir

EXAMPLE = conformance_dir() / "examples" / "gs1-epcis-1.2" / "xml" / "ObjectEvent.xml"
PARTNER = """
[[partner]]
id = "acme"
name = "Acme"
gln = "0614141000012"
role = "wholesaler"
epcis_format = "1.2-xml"
transaction_history = false
schedule = "0 * * * *"
inbound_policy = "{policy}"
[partner.transport]
kind = "http"
url = "https://127.0.0.1:9/capture"
"""


def _home(tmp_path: Path, policy: str) -> Home:
    home = Home(tmp_path / "home").ensure()
    (home.root / "partners.toml").write_text(PARTNER.format(policy=policy))
    return home


def test_received_files_are_ingested_or_rejected_with_the_reason(tmp_path: Path) -> None:
    if not EXAMPLE.is_file():
        pytest.skip(f"conformance examples absent: {EXAMPLE}")
    home = _home(tmp_path, "tolerant")
    assert get_partner(home, "acme").inbound_policy == "tolerant"
    good = store_inbound(home, "acme", "sftp", "events.xml", EXAMPLE.read_bytes())
    bad = store_inbound(home, "acme", "sftp", "broken.xml", b"<epcis:EPCISDocument><oops>")
    handled = {d.message_id: d for d in ingest_received(home)}
    assert handled[good.message_id].status == "acknowledged"
    assert handled[bad.message_id].status == "rejected"
    assert "not well-formed" in (handled[bad.message_id].ack_detail or "")
    assert any(inbound_dir(home).rglob("*.parquet"))
    assert any(rejected_dir(home).iterdir())
    # handled once: a second pass finds nothing left to do
    assert ingest_received(home) == []
    with DeliveryLedger(home.partners_ledger) as ledger:
        statuses = sorted(d.status for d in ledger.deliveries() if d.direction == "inbound")
    assert statuses == ["acknowledged", "rejected"]


def test_inbound_policy_is_checked(tmp_path: Path) -> None:
    home = _home(tmp_path, "lenient")
    with pytest.raises(ValidationError, match="inbound_policy"):
        get_partner(home, "acme")
