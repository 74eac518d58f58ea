"""CMO mode and the CLI acting user (serialtrace/acting.py, serialtrace/clients.py): who may
run what for which client, the trails naming the acting user, and one client's data never
reaching another's through the CLI or the warehouse."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

from serialtrace.acting import UNLISTED, acting, authorize, command_trail, os_user, rule_for
from serialtrace.cli import build_parser, main
from serialtrace.clients_demo import DEMO_QA, DEMO_SECOND_QA, DEMO_USERS_FILE, isolation_counts
from serialtrace.demo import DemoResult
from serialtrace.settings import Home, resolve_home
from serialtrace.users import PermissionDeniedError, UserStore

GTIN_A = "00312345678906"
GTIN_B = "00398765432106"


@pytest.fixture
def inst(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """An installation with client A in the root and B in clients/B; users: an admin of
    all, a serialization admin of A only, an auditor of B."""
    monkeypatch.delenv("SERIALTRACE_USER", raising=False)
    monkeypatch.delenv("SERIALTRACE_CLIENT", raising=False)
    monkeypatch.setenv("SERIALTRACE_PASSWORD", "password1")
    root = Home(tmp_path / "inst").ensure()
    (root.root / "client.id").write_text("A")
    h = ["--home", str(root.root)]
    # a fresh installation: the OS account acts and creates the first admin
    assert main(["users", "add", "root", "--full-name", "Root", "--role", "admin", *h]) == 0
    assert UserStore(root.users_db).all()[0].name == "root"
    assert main(["clients", "add", "B", "--user", "root", *h]) == 0
    for name, role, client in (("sa", "serialization_admin", "A"), ("aud", "auditor", "B")):
        assert (
            main(
                [
                    "users",
                    "add",
                    name,
                    "--full-name",
                    name,
                    "--role",
                    role,
                    "--client",
                    client,
                    "--user",
                    "root",
                    *h,
                ]
            )
            == 0
        )
    return root


def _cli(home: Home, *args: str) -> int:
    return main([*args, "--home", str(home.root)])


def test_every_command_is_classified() -> None:
    parser = build_parser()
    commands: list[str] = []

    def walk(p: object, path: str) -> None:
        import argparse

        assert isinstance(p, argparse.ArgumentParser)
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            commands.append(path.strip())
        for sub in subs:
            for name, child in sub.choices.items():
                walk(child, f"{path} {name}")

    walk(parser, "")
    unlisted = [c for c in commands if rule_for(c) is UNLISTED]
    assert not unlisted, f"add these commands to serialtrace/acting.py POLICY: {unlisted}"


def test_first_admin_is_created_by_the_os_account(inst: Home) -> None:
    with sqlite3.connect(inst.users_db) as db:
        row = db.execute("select created_by from users where name = 'root'").fetchone()
    assert row == (os_user().name,) and row[0].startswith("os:")


def test_refusals_are_one_clear_line(inst: Home, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert _cli(inst, "serials", "pools") == 2  # a store with users: name who acts
    assert "needs an acting user" in capsys.readouterr().err
    assert _cli(inst, "serials", "pools", "--user", "nobody") == 2
    assert "'nobody' does not exist" in capsys.readouterr().err
    assert _cli(inst, "serials", "pools", "--user", "sa", "--client", "B") == 2
    err = capsys.readouterr().err
    assert err.strip() == "serialtrace: error: --client: user 'sa' may not see client 'B'"
    assert _cli(inst, "serials", "pools", "--user", "aud", "--client", "B") == 0  # read: ok
    create = [
        "serials",
        "pool",
        "create",
        "--gtin",
        GTIN_B,
        "--market",
        "US-DSCSA",
        "--client",
        "B",
    ]
    assert _cli(inst, *create, "--user", "aud") == 2  # aud may not see A (the root)
    assert "may not see client 'A'" in capsys.readouterr().err
    assert main(["--client", "B", *create, "--user", "aud", "--home", str(inst.root)]) == 2
    assert "needs a role among" in capsys.readouterr().err
    assert _cli(inst, "clients", "add", "C", "--user", "sa") == 2  # admin only
    assert _cli(inst, "serials", "pools", "--user", "root", "--client", "NOPE") == 2
    assert "has no data space" in capsys.readouterr().err
    UserStore(inst.users_db).disable("sa", by="root")
    assert _cli(inst, "serials", "pools", "--user", "sa") == 2
    assert "disabled" in capsys.readouterr().err


def test_clients_list_shows_only_visible_clients(
    inst: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert _cli(inst, "clients", "list", "--user", "aud") == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["B"]
    assert _cli(inst, "clients", "list", "--user", "root") == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["A", "B"]


def test_pools_and_allocations_stay_in_their_data_space(
    inst: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    for client, gtin in (("A", GTIN_A), ("B", GTIN_B)):
        pool = ["serials", "pool", "create", "--gtin", gtin, "--market", "US-DSCSA"]
        pool += ["--client", client, "--id", f"POOL-{client}"]
        assert main(["--client", client, *pool, "--user", "root", "--home", str(inst.root)]) == 0
        alloc = ["serials", "allocate", "--pool", f"POOL-{client}", "--count", "5"]
        capsys.readouterr()
        code = main(
            [
                "--client",
                client,
                *alloc,
                "--order",
                f"WO-{client}",
                "--user",
                "root",
                "--home",
                str(inst.root),
            ]
        )
        assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert _cli(inst, "serials", "pools", "--user", "root") == 0
    listed_a = capsys.readouterr().out
    assert "POOL-A" in listed_a and "POOL-B" not in listed_a
    assert (
        main(["--client", "B", "serials", "pools", "--user", "aud", "--home", str(inst.root)]) == 0
    )
    listed_b = capsys.readouterr().out
    assert "POOL-B" in listed_b and "POOL-A" not in listed_b
    b = inst.client("B")
    for space, gtin in ((inst, GTIN_A), (b, GTIN_B)):
        with sqlite3.connect(space.serial_ledger) as db:
            rows = db.execute("select work_order_id, issued_by from allocations").fetchall()
            gtins = {g for (g,) in db.execute("select gtin from gtins")}
        assert rows == [(f"WO-{space.client_id}", "root")] and gtins == {gtin}
    trail = command_trail(b).entries()
    assert [(e.user, e.client, e.command, e.outcome) for e in trail] == [
        ("root", "B", "serials pool create", "done"),
        ("root", "B", "serials allocate", "done"),
    ]


def test_a_client_home_path_keeps_its_installation(inst: Home) -> None:
    b = inst.client("B")
    assert resolve_home(str(b.root)) == b and Home.at(b.root).users_db == inst.users_db
    with pytest.raises(PermissionDeniedError, match="may not see client 'A'"):
        authorize("serials pools", home=str(inst.root), user="aud")


def test_trails_name_the_acting_user(inst: Home) -> None:
    from partners.ledger import DeliveryLedger

    actor = authorize("partners go-live", home=str(inst.root), user="sa")
    with acting(actor, {"partner": "P1"}), DeliveryLedger(inst.partners_ledger) as ledger:
        ledger.set_test_message("P1", "msg-1")
        ledger.set_live("P1")
        queued = ledger.enqueue("P1", "sftp", "/x/f.xml", "f.xml", "ab" * 32, 10)
    with DeliveryLedger(inst.partners_ledger) as ledger:
        assert ledger.onboarding_by("P1") == ("sa", "sa")
    assert queued.queued_by == "sa"
    first, entry = command_trail(inst).entries()
    assert (first.user, first.command, first.arguments["client_id"]) == ("root", "clients add", "B")
    assert (entry.user, entry.command, entry.arguments) == (
        "sa",
        "partners go-live",
        {"partner": "P1"},
    )


# --- the demo's second client (the session demo fixture) ---------------------------------


def test_demo_clients_are_isolated(demo: tuple[Home, DemoResult]) -> None:
    home, result = demo
    second = result.second_client
    assert second is not None and home.client_id == "DEMO"
    assert set(home.data_spaces()) == {"DEMO", second.client_id}
    counts = isolation_counts(home)
    assert counts["DEMO"].keys() == {"DEMO"} and counts[second.client_id].keys() == {"BETA"}
    assert counts[second.client_id]["BETA"] == second.units
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute(
            "select count(*) from serial_lifecycle where gtin = ?", [GTIN_B]
        ).fetchone() == (0,)
    users_file = home.root / DEMO_USERS_FILE
    assert users_file.stat().st_mode & 0o777 == 0o600
    listed = dict(line.split("\t") for line in users_file.read_text().splitlines()[1:])
    assert listed == result.demo_users
    store = UserStore(home.users_db)
    assert store.authenticate(DEMO_SECOND_QA, listed[DEMO_SECOND_QA]).clients == ("BETA",)
    assert store.get(DEMO_QA).clients == ("DEMO",)


def test_a_user_of_one_demo_client_is_refused_the_other(
    demo: tuple[Home, DemoResult], capsys: pytest.CaptureFixture[str]
) -> None:
    home, _ = demo
    capsys.readouterr()
    h = ["--home", str(home.root)]
    assert main(["--client", "BETA", "serials", "pools", "--user", DEMO_QA, *h]) == 2
    assert "may not see client 'BETA'" in capsys.readouterr().err
    assert main(["serials", "pools", "--user", DEMO_SECOND_QA, *h]) == 2
    assert main(["--client", "BETA", "serials", "pools", "--user", DEMO_SECOND_QA, *h]) == 0
    out = capsys.readouterr().out
    assert GTIN_B in out and GTIN_A not in out


def test_a_demo_rerun_acts_as_the_demo_admin_only_with_its_credential_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from serialtrace.clients_demo import DEMO_ADMIN

    monkeypatch.delenv("SERIALTRACE_USER", raising=False)

    home = Home(tmp_path).ensure()
    store = UserStore(home.users_db)
    store.add(
        DEMO_ADMIN, "right-password-1", full_name="Demo", roles=["admin"], clients=["*"], by="tests"
    )
    credentials = tmp_path / DEMO_USERS_FILE
    credentials.write_text(f"# demo\n{DEMO_ADMIN}\tright-password-1\n")
    assert authorize("demo", home=str(tmp_path)).name == DEMO_ADMIN
    with pytest.raises(PermissionDeniedError, match="needs an acting user"):
        authorize("users list", home=str(tmp_path))  # only the demo re-run
    credentials.write_text(f"{DEMO_ADMIN}\twrong-password\n")
    with pytest.raises(PermissionDeniedError, match="needs an acting user"):
        authorize("demo", home=str(tmp_path))
    credentials.unlink()
    with pytest.raises(PermissionDeniedError, match="needs an acting user"):
        authorize("demo", home=str(tmp_path))
