from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from serialtrace.cli import main
from serialtrace.errors import ValidationError
from serialtrace.users import (
    AuthenticationError,
    PermissionDeniedError,
    UserStore,
    check_password,
    hash_password,
)

PW = "correct horse battery"


def test_scrypt_hash_salted_and_checked() -> None:
    a, b = hash_password(PW), hash_password(PW)
    assert a != b and a.startswith("scrypt$15$8$1$")
    assert PW not in a
    assert check_password(PW, a) and check_password(PW, b)
    assert not check_password("wrong password", a)
    assert not check_password(PW, "garbage")
    with pytest.raises(ValueError, match="at least 8"):
        hash_password("short")


def test_add_authenticate_disable(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.sqlite")
    store.add("qa1", PW, full_name="Quinn Quality", roles=["quality"], clients=["ACME"], by="root")
    store.add("aud", PW, full_name="Ann Auditor", roles=["auditor"], email="a@x.test", by="root")
    assert [u.name for u in store.all()] == ["aud", "qa1"]
    user = store.authenticate("qa1", PW)
    assert user.full_name == "Quinn Quality" and user.may_see("ACME") and not user.may_see("OTHER")
    assert store.get("aud").may_see("ANY")
    with pytest.raises(AuthenticationError):
        store.authenticate("qa1", "not the password")
    with pytest.raises(AuthenticationError):
        store.authenticate("nobody", PW)
    with pytest.raises(PermissionDeniedError, match="needs a role among quality"):
        store.require("aud", "quality")
    store.disable("qa1", by="root")
    with pytest.raises(AuthenticationError):
        store.authenticate("qa1", PW)
    with pytest.raises(PermissionDeniedError, match="disabled"):
        store.require("qa1")
    with pytest.raises(ValidationError, match="already exists"):
        store.add("aud", PW, full_name="x", roles=["auditor"], by="root")
    with pytest.raises(ValidationError, match="unknown boss"):
        store.add("b2", PW, full_name="x", roles=["boss"], by="root")
    store.set_password("aud", "another secret!", by="root")
    store.authenticate("aud", "another secret!")
    with sqlite3.connect(tmp_path / "users.sqlite") as db:
        dump = "\n".join(db.iterdump())
    assert PW not in dump and "another secret!" not in dump


def test_cli_add_list_passwd_disable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(tmp_path)]

    def run(argv: list[str], stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return main(argv)

    # the first user must be an admin
    assert (
        run(
            [
                "users",
                "add",
                "op",
                "--full-name",
                "O P",
                "--role",
                "operator",
                "--password-stdin",
                *home,
            ],
            PW + "\n",
        )
        == 2
    )
    assert (
        run(
            [
                "users",
                "add",
                "root",
                "--full-name",
                "Rita Root",
                "--role",
                "admin",
                "--password-stdin",
                *home,
            ],
            PW + "\n",
        )
        == 0
    )
    # later users need an acting admin
    assert (
        run(
            [
                "users",
                "add",
                "op",
                "--full-name",
                "O P",
                "--role",
                "operator",
                "--password-stdin",
                *home,
            ],
            PW + "\n",
        )
        == 2
    )
    monkeypatch.setenv("SERIALTRACE_USER", "root")
    assert (
        run(
            [
                "users",
                "add",
                "op",
                "--full-name",
                "O P",
                "--role",
                "operator",
                "--client",
                "ACME",
                "--password-stdin",
                *home,
            ],
            PW + "\n",
        )
        == 0
    )
    capsys.readouterr()
    assert run(["users", "list", *home]) == 0
    listing = capsys.readouterr().out
    assert "Rita Root" in listing and "ACME" in listing and PW not in listing
    # own password: the old one, then the new one
    assert (
        run(
            ["users", "passwd", "op", "--user", "op", "--password-stdin", *home],
            f"{PW}\nbrand new pass\n",
        )
        == 0
    )
    assert (
        run(
            ["users", "passwd", "op", "--user", "op", "--password-stdin", *home],
            "wrong old pw\nwhatever123\n",
        )
        == 2
    )
    UserStore(tmp_path / "users.sqlite").authenticate("op", "brand new pass")
    assert run(["users", "disable", "op", *home]) == 0
    assert UserStore(tmp_path / "users.sqlite").get("op").disabled


def test_failed_logins_lock_a_name_for_a_while(tmp_path: Path) -> None:
    """21 CFR 11.300(d): MAX_FAILED_LOGINS failures in a row lock the name (the right
    password included) until LOCKOUT has passed or an admin sets a new password; a success
    before that clears the count; names that are not users are locked alike."""
    from datetime import UTC, datetime, timedelta

    from serialtrace.users import LOCKOUT, MAX_FAILED_LOGINS, LockedOutError

    store = UserStore(tmp_path / "users.sqlite")
    store.add("qa1", PW, full_name="Quinn Quality", roles=["quality"], by="root")
    t0 = datetime(2026, 11, 25, 12, tzinfo=UTC)
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(AuthenticationError) as failed:
            store.authenticate("qa1", "wrong password", now=t0)
        assert not isinstance(failed.value, LockedOutError)
    store.authenticate("qa1", PW, now=t0)  # a success clears the count
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(AuthenticationError):
            store.authenticate("qa1", "wrong password", now=t0)
    with pytest.raises(LockedOutError, match="locked after 5 failed logins"):
        store.authenticate("qa1", "wrong password", now=t0)  # the failure that locks
    with pytest.raises(LockedOutError):
        store.authenticate("qa1", PW, now=t0 + LOCKOUT - timedelta(seconds=1))
    assert store.authenticate("qa1", PW, now=t0 + LOCKOUT).name == "qa1"  # lock ran out
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(AuthenticationError):
            store.authenticate("qa1", "wrong password", now=t0 + 2 * LOCKOUT)
    assert store.locked_until("qa1", now=t0 + 2 * LOCKOUT) == t0 + 3 * LOCKOUT
    store.set_password("qa1", "a new secret!", by="root")  # an admin unlocks
    assert store.authenticate("qa1", "a new secret!").name == "qa1"
    for _ in range(MAX_FAILED_LOGINS):  # an unknown name locks like a user's
        with pytest.raises(AuthenticationError):
            store.authenticate("nobody", PW, now=t0)
    assert store.locked_until("nobody", now=t0) == t0 + LOCKOUT
    assert [(name, failures) for name, _, _, failures in store.lockouts()] == [
        ("qa1", 5),  # at t0
        ("nobody", 5),  # at t0 too, recorded after
        ("qa1", 5),  # at t0 + 2 LOCKOUT
    ]
