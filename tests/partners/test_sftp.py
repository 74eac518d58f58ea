from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from partners.delivery import send_file
from partners.ledger import DeliveryLedger
from partners.localpeers import free_port, write_ed25519_key
from partners.sftp import HostKeyRefusedError, sftp_transport
from serialtrace.errors import ConfigurationError
from serialtrace.settings import PROJECT_ROOT
from tests.partners.conftest import SftpPeer, epcis12


def _outbox_file(peer: SftpPeer, name: str = "WO-0001.xml", text: str = "a") -> Path:
    path = peer.home.epcis_outbox / name
    path.write_bytes(epcis12(text))
    return path


def test_upload_renames_into_place_and_is_acknowledged(sftp_peer: SftpPeer) -> None:
    partner = sftp_peer.write_config()
    path = _outbox_file(sftp_peer)
    delivery = send_file(sftp_peer.home, partner, sftp_transport(sftp_peer.home, partner), path)
    assert delivery.status == "acknowledged"
    assert delivery.ack_kind == "sftp-verified"
    remote = sorted(p.name for p in sftp_peer.inbound.iterdir())
    assert remote == [f"{delivery.message_key}__WO-0001.xml"]  # no leftover .part file
    assert (sftp_peer.inbound / remote[0]).read_bytes() == path.read_bytes()
    # the same file again: not sent a second time, same ledger entry
    again = send_file(sftp_peer.home, partner, sftp_transport(sftp_peer.home, partner), path)
    assert again.message_id == delivery.message_id and again.attempts == 1


def test_changed_host_key_is_refused_before_authentication(sftp_peer: SftpPeer) -> None:
    other = write_ed25519_key(sftp_peer.home.root / "other_key").rsplit(" ", 1)[0]
    partner = sftp_peer.write_config(host_key=other)
    path = _outbox_file(sftp_peer)
    delivery = send_file(sftp_peer.home, partner, sftp_transport(sftp_peer.home, partner), path)
    assert delivery.status == "failed"
    assert delivery.attempts == 1  # a refused host key is not retried
    assert "host key refused" in (delivery.failure_reason or "")
    assert "is not the pinned one" in (delivery.failure_reason or "")
    assert list(sftp_peer.inbound.iterdir()) == []


def test_unknown_host_key_is_refused(sftp_peer: SftpPeer) -> None:
    partner = sftp_peer.write_config(host_key="")
    transport = sftp_transport(sftp_peer.home, partner)
    with pytest.raises(HostKeyRefusedError, match="nothing pinned"), transport.session():
        pass


def test_partner_down_retries_with_backoff_then_fails_with_reason(sftp_peer: SftpPeer) -> None:
    partner = sftp_peer.write_config(port=free_port())  # nothing listens there
    waits: list[float] = []
    path = _outbox_file(sftp_peer)
    delivery = send_file(
        sftp_peer.home, partner, sftp_transport(sftp_peer.home, partner), path, sleep=waits.append
    )
    assert delivery.status == "failed"
    assert delivery.attempts == partner.max_attempts == 3
    assert "cannot connect" in (delivery.failure_reason or "")
    assert "gave up after 3 attempts" in (delivery.failure_reason or "")
    with DeliveryLedger(sftp_peer.home.partners_ledger) as ledger:
        outcomes = [a["outcome"] for a in ledger.attempts(delivery.message_id)]
    assert outcomes == ["error", "error", "error"]


def test_pickup_stores_then_removes_remote(sftp_peer: SftpPeer) -> None:
    partner = sftp_peer.write_config()
    (sftp_peer.outbound / "ship-1.xml").write_bytes(epcis12("inbound"))
    (sftp_peer.outbound / ".half-written.xml").write_bytes(b"<partial")
    with DeliveryLedger(sftp_peer.home.partners_ledger) as ledger:
        received = sftp_transport(sftp_peer.home, partner).pickup(ledger)
        assert [d.file_name for d in received] == ["ship-1.xml"]
        stored = sftp_peer.home.epcis_inbox / partner.id / "ship-1.xml"
        assert stored.read_bytes() == epcis12("inbound")
        assert received[0].status == "received" and received[0].direction == "inbound"
        # removed remotely only after storing; the hidden (in-progress) file is left alone
        assert sorted(p.name for p in sftp_peer.outbound.iterdir()) == [".half-written.xml"]
        # the same content dropped again is not recorded twice
        (sftp_peer.outbound / "ship-1-again.xml").write_bytes(epcis12("inbound"))
        assert sftp_transport(sftp_peer.home, partner).pickup(ledger) == []
        assert len(ledger.deliveries(partner.id)) == 1


def test_pickup_moves_to_archive_when_configured(sftp_peer: SftpPeer) -> None:
    partner = sftp_peer.write_config(archive=str(sftp_peer.remote / "archive"))
    (sftp_peer.outbound / "ship-2.xml").write_bytes(epcis12("two"))
    with DeliveryLedger(sftp_peer.home.partners_ledger) as ledger:
        assert len(sftp_transport(sftp_peer.home, partner).pickup(ledger)) == 1
    assert [p.name for p in (sftp_peer.remote / "archive").iterdir()] == ["ship-2.xml"]


def test_missing_key_file_names_the_field(sftp_peer: SftpPeer) -> None:
    partner = sftp_peer.write_config()
    (sftp_peer.home.root / "keys" / "client_ed25519").unlink()
    with pytest.raises(ConfigurationError, match=r"transport.key_file: key file .* does not exist"):
        sftp_transport(sftp_peer.home, partner).session().__enter__()


CRASHING_SENDER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from partners.config import get_partner
    from partners.delivery import send_file
    from partners.transports import transport_for
    from serialtrace.settings import Home

    home = Home(Path(sys.argv[1]))
    partner = get_partner(home, sys.argv[2])
    real = transport_for(home, partner)

    class CrashAfterSend:
        kind = real.kind

        def send(self, delivery, content):
            real.send(delivery, content)  # the file reaches the partner...
            os.kill(os.getpid(), signal.SIGKILL)  # ...and we die before the ledger knows

    send_file(home, partner, CrashAfterSend(), Path(sys.argv[3]))
    """
)


def test_crash_between_send_and_ledger_update_resends_under_the_same_id(
    sftp_peer: SftpPeer,
) -> None:
    partner = sftp_peer.write_config()
    path = _outbox_file(sftp_peer)
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    run = subprocess.run(
        [sys.executable, "-c", CRASHING_SENDER, str(sftp_peer.home.root), partner.id, str(path)],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert run.returncode == -9, run.stderr.decode()
    with DeliveryLedger(sftp_peer.home.partners_ledger) as ledger:
        [crashed] = ledger.deliveries(partner.id)
    assert crashed.status == "queued" and crashed.attempts == 1  # attempt counted, no outcome
    assert [p.name for p in sftp_peer.inbound.iterdir()] == [f"{crashed.message_key}__WO-0001.xml"]
    resent = send_file(sftp_peer.home, partner, sftp_transport(sftp_peer.home, partner), path)
    assert resent.message_id == crashed.message_id
    assert resent.status == "acknowledged" and resent.attempts == 2
    # the partner holds one file, under the one message ID
    assert [p.name for p in sftp_peer.inbound.iterdir()] == [f"{crashed.message_key}__WO-0001.xml"]
