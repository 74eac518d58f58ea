"""SFTP drop: files are pulled from a real (local) SFTP server, then loaded."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.erp.config import load_connections
from ingest.erp.loader import load_pending
from ingest.erp.sftp import pull
from serialtrace.errors import SerialtraceError
from serialtrace.settings import Home
from tests.ingest.conftest import FIXTURES
from tests.ingest.sftp_standin import PASSWORD, USER, SftpStandIn

ENV = "SERIALTRACE_TEST_SFTP_PASSWORD"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SftpStandIn]:
    root = tmp_path / "sftp-root"
    (root / "out").mkdir(parents=True)
    standin = SftpStandIn(root)
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


def _config(home: Home, server: SftpStandIn) -> None:
    (home.root / "known_hosts").write_text(server.known_hosts_line())
    (home.root / "erp.toml").write_text(
        f"""
[connections.sap-sftp]
kind = "sap_idoc"
company_id = "DEMO"
[connections.sap-sftp.sftp]
host = "127.0.0.1"
port = {server.port}
user = "{USER}"
path = "/out"
known_hosts = "known_hosts"
password_env = "{ENV}"
"""
    )


def test_files_are_pulled_then_loaded_and_removed_from_the_server(
    home: Home, server: SftpStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    _config(home, server)
    for name in ("MATMAS05_products.xml", "BATMAS03_released.xml"):
        shutil.copy(FIXTURES / "sap" / name, server.root / "out" / name)
    conn = load_connections(home)["sap-sftp"]
    pulled = pull(conn)
    assert sorted(p.name for p in pulled) == ["BATMAS03_released.xml", "MATMAS05_products.xml"]
    assert not any((server.root / "out").iterdir())
    results = load_pending(home, conn)
    assert sorted(r.outcome for r in results) == ["loaded", "loaded"]


def test_unknown_host_key_and_wrong_password_are_refused(
    home: Home, server: SftpStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(home, server)
    conn = load_connections(home)["sap-sftp"]
    monkeypatch.setenv(ENV, "wrong")
    with pytest.raises(SerialtraceError, match=r"SFTP erp@127\.0\.0\.1"):
        pull(conn)
    monkeypatch.setenv(ENV, PASSWORD)
    other = SftpStandIn(server.root)  # a different host key on the same address/port
    (home.root / "known_hosts").write_text(
        other.known_hosts_line().replace(str(other.port), str(server.port))
    )
    other.sock.close()
    assert conn.sftp is not None
    with pytest.raises(SerialtraceError, match="SFTP"):
        pull(dataclasses.replace(conn, sftp=dataclasses.replace(conn.sftp)))


def test_sftp_settings_are_checked(home: Home) -> None:
    (home.root / "erp.toml").write_text(
        '[connections.x]\nkind = "mes"\ncompany_id = "C"\n'
        '[connections.x.sftp]\nhost = "h"\nuser = "u"\npath = "/"\nknown_hosts = "k"\n'
    )
    with pytest.raises(
        SerialtraceError, match=r"connections\.x\.sftp: needs password_env or key_file"
    ):
        load_connections(home)
