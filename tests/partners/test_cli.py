from __future__ import annotations

import pytest

from serialtrace.cli import main
from tests.partners.conftest import SftpPeer, epcis12


def _run(peer: SftpPeer, *args: str) -> int:
    return main(["partners", *args, "--home", str(peer.home.root)])


def test_onboarding_test_ack_then_go_live_then_scheduled_send(
    sftp_peer: SftpPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    partner = sftp_peer.write_config()
    assert _run(sftp_peer, "list") == 0
    assert "loop-sftp      configured" in capsys.readouterr().out

    assert _run(sftp_peer, "go-live", partner.id) == 2  # no acknowledged test yet
    assert "cannot go live at stage 'configured'" in capsys.readouterr().err

    batch = sftp_peer.home.epcis_outbox / "WO-0001" / "WO-0001.epcis-1.2.xml"
    batch.parent.mkdir()
    batch.write_bytes(epcis12("batch"))
    batch.with_name(batch.name + ".lineage.json").write_text("{}")  # sidecar: never sent
    assert _run(sftp_peer, "send") == 0  # not live: nothing leaves
    assert "not live yet, nothing sent" in capsys.readouterr().out
    assert list(sftp_peer.inbound.iterdir()) == []

    assert _run(sftp_peer, "test", partner.id) == 0
    out = capsys.readouterr().out
    assert "acknowledged" in out and "go-live" in out
    [test_file] = sftp_peer.inbound.iterdir()
    assert "onboarding-test-loop-sftp" in test_file.name

    assert _run(sftp_peer, "go-live", partner.id) == 0
    assert "loop-sftp is live since" in capsys.readouterr().out
    assert _run(sftp_peer, "list") == 0
    assert "loop-sftp      live" in capsys.readouterr().out

    assert _run(sftp_peer, "send") == 0
    assert "acknowledged" in capsys.readouterr().out
    names = sorted(p.name.split("__", 1)[1] for p in sftp_peer.inbound.iterdir())
    assert names[0] == "WO-0001.epcis-1.2.xml" and names[1].startswith("onboarding-test-")
    assert _run(sftp_peer, "send") == 0  # nothing new: nothing sent again
    assert capsys.readouterr().out == ""
    assert len(list(sftp_peer.inbound.iterdir())) == 2


def test_pickup_command(sftp_peer: SftpPeer, capsys: pytest.CaptureFixture[str]) -> None:
    sftp_peer.write_config()
    (sftp_peer.outbound / "ship.xml").write_bytes(epcis12("in"))
    assert _run(sftp_peer, "pickup") == 0
    assert "← loop-sftp      received" in capsys.readouterr().out
    assert _run(sftp_peer, "deliveries") == 0
    assert "ship.xml" in capsys.readouterr().out


def test_unknown_partner_is_one_line(
    sftp_peer: SftpPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    sftp_peer.write_config()
    assert _run(sftp_peer, "test", "nope") == 2
    assert capsys.readouterr().err.strip().endswith("(configured: loop-sftp)")
