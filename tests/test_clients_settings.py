"""Data spaces of an installation (CMO mode): one per client, one user store."""

from __future__ import annotations

from pathlib import Path

import pytest

from serialtrace.errors import ConfigurationError
from serialtrace.settings import Home, resolve_home


def test_root_is_the_default_client_until_named(tmp_path: Path) -> None:
    home = Home(tmp_path)
    assert home.client_id == "default"
    (tmp_path / "client.id").write_text("DEMO\n")
    assert home.client_id == "DEMO"
    assert home.client("DEMO") == home


def test_client_space_below_the_installation_shares_the_user_store(tmp_path: Path) -> None:
    home = Home(tmp_path)
    (tmp_path / "client.id").write_text("DEMO")
    other = home.client("ACME").ensure()
    assert other.root == tmp_path / "clients" / "ACME"
    assert other.client_id == "ACME"
    assert other.installation == home
    assert other.warehouse != home.warehouse and other.raw != home.raw
    assert other.users_db == home.users_db == tmp_path / "users.sqlite"
    assert other.client("DEMO") == home  # back to the root's client
    assert list(home.data_spaces()) == ["DEMO", "ACME"]
    assert other.data_spaces() == home.data_spaces()


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "x" * 65])
def test_client_id_must_be_a_plain_name(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigurationError, match="client id"):
        Home(tmp_path).client(bad)


def test_client_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERIALTRACE_HOME", str(tmp_path))
    monkeypatch.setenv("SERIALTRACE_CLIENT", "ACME")
    assert resolve_home().root == tmp_path / "clients" / "ACME"
    assert resolve_home(client="BETA").root == tmp_path / "clients" / "BETA"
