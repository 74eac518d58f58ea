from __future__ import annotations

from pathlib import Path

import pytest

from partners.demo import demo_partners
from partners.ledger import DeliveryLedger
from partners.localpeers import sshd_available
from serialtrace.settings import Home
from tests.partners.conftest import epcis12


def test_demo_delivers_to_the_sftp_and_as2_partners_with_acknowledgements(
    tmp_path: Path,
) -> None:
    if sshd_available():
        pytest.skip(str(sshd_available()))
    home = Home(tmp_path / "home").ensure()
    document = home.epcis_outbox / "WO-0001.xml"
    document.write_bytes(epcis12("demo"))
    said: list[str] = []
    deliveries = demo_partners(home, [document], said.append)
    assert [(d.partner_id, d.transport, d.status) for d in deliveries] == [
        ("acme-sftp", "sftp", "acknowledged"),
        ("beta-as2", "as2", "acknowledged"),
    ]
    assert [d.ack_kind for d in deliveries] == ["sftp-verified", "as2-sync-mdn"]
    with DeliveryLedger(home.partners_ledger) as ledger:
        assert len(ledger.deliveries()) == 2
    sftp_copy = next((home.root / "partners/demo/acme-sftp/inbound").iterdir())
    as2_copy = next((home.root / "partners/demo/beta-as2/received").iterdir())
    assert sftp_copy.read_bytes() == as2_copy.read_bytes() == document.read_bytes()
    assert sum("acknowledged" in line for line in said) == 2
    # a second demo run on the same home: nothing is sent twice
    again = demo_partners(home, [document], said.append)
    assert [d.message_id for d in again] == [d.message_id for d in deliveries]
    assert len(list((home.root / "partners/demo/beta-as2/received").iterdir())) == 1
