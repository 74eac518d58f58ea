from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from partners.config import Partner, get_partner
from partners.localpeers import LocalSshd, sshd_available, start_sshd, write_ed25519_key
from serialtrace.settings import Home

SFTP_PARTNER = """
[[partner]]
id = "{id}"
name = "Loopback SFTP partner"
gln = "0614141000012"
role = "wholesaler"
epcis_format = "1.2-xml"
transaction_history = true
schedule = "*/5 * * * *"
ack_deadline_minutes = 60
go_live = false
max_attempts = 3
retry_base_seconds = 0

[partner.transport]
kind = "sftp"
host = "127.0.0.1"
port = {port}
username = "{user}"
key_file = "keys/client_ed25519"
host_key = "{host_key}"
remote_inbox = "{remote}/inbound"
remote_outbox = "{remote}/outbound"
remote_archive = "{archive}"
"""


@dataclass
class SftpPeer:
    home: Home
    sshd: LocalSshd
    remote: Path

    @property
    def inbound(self) -> Path:
        return self.remote / "inbound"

    @property
    def outbound(self) -> Path:
        return self.remote / "outbound"

    def write_config(
        self,
        partner_id: str = "loop-sftp",
        port: int | None = None,
        host_key: str | None = None,
        archive: str = "",
    ) -> Partner:
        text = SFTP_PARTNER.format(
            id=partner_id,
            port=port or self.sshd.port,
            user=self.sshd.username,
            host_key=self.sshd.host_key if host_key is None else host_key,
            remote=self.remote,
            archive=archive,
        )
        (self.home.root / "partners.toml").write_text(text)
        return get_partner(self.home, partner_id)


@pytest.fixture(scope="module")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalSshd, Path]]:
    reason = sshd_available()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("sshd")
    client_public = write_ed25519_key(base / "client_ed25519")
    with start_sshd(base / "server", [client_public]) as server:
        yield server, base / "client_ed25519"


@pytest.fixture
def sftp_peer(sftp_server: tuple[LocalSshd, Path], tmp_path: Path) -> SftpPeer:
    """A fresh home and fresh remote folders on the module's sshd."""
    server, client_key = sftp_server
    home = Home(tmp_path / "home").ensure()
    (home.root / "keys").mkdir()
    key = home.root / "keys" / "client_ed25519"
    key.write_bytes(client_key.read_bytes())
    key.chmod(0o600)
    remote = tmp_path / "remote"
    for name in ("inbound", "outbound", "archive"):
        (remote / name).mkdir(parents=True)
    return SftpPeer(home, server, remote)


def epcis12(text: str = "demo") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2"'
        f' creationDate="2026-01-01T00:00:00Z"><EPCISBody><EventList/></EPCISBody>'
        f"<!-- {text} --></epcis:EPCISDocument>\n"
    ).encode()
