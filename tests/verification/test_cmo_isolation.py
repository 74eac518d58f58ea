"""CMO isolation of the responder: a key is answered from its own client's data space only
(docs/cmo.md); keys live in the installation's user store (migrated from the old file)."""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from serialtrace.cli import main
from serialtrace.settings import Home
from verification.identifiers import CatalogProduct
from verification.keys import KeyStore, key_store, keys_path
from verification.service import Responder
from verification.store import store_path, write_store

GTIN_A = "00312345678906"
GTIN_B = "00398765432106"
REQ_GLN = "0614141000012"
EXP = "301031"


def _space(home: Home, gtin: str, company: str, serials: list[str]) -> None:
    rows = [
        (gtin, s, "L1", "2030-10-31", "commissioned", None, "released", company) for s in serials
    ]
    product = CatalogProduct(gtin, company, f"{company} product", None, None, None, None)
    write_store(store_path(home.root), rows, [product])


@pytest.fixture
def installation(tmp_path: Path) -> Home:
    """Client A in the root (client.id), client B in clients/B; the same GTIN of B's
    product appears only in B's store, B's serial B-ONLY only there."""
    root = Home(tmp_path / "inst").ensure()
    (root.root / "client.id").write_text("A")
    b = root.client("B").ensure()
    _space(root, GTIN_A, "A", ["A1"])
    _space(b, GTIN_B, "B", ["B-ONLY"])
    return root


def _ask(responder: Responder, key: str, gtin: str, serial: str) -> tuple[int, Any]:
    query = urllib.parse.urlencode(
        {
            "linkType": "verificationService",
            "context": "dscsaSaleableReturn",
            "reqGLN": REQ_GLN,
            "corrUUID": "8d9e1f4a-2b3c-4d5e-8f6a-7b8c9d0e1f2a",
            "17": EXP,
        }
    )
    answer = responder.handle(
        "GET", f"/01/{gtin}/10/L1/21/{serial}", query, {"authorization": f"Bearer {key}"}
    )
    body = json.loads(answer.body) if answer.content_type == "application/json" else answer.body
    return answer.status, body


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "verificationTimestamp"}


def test_a_key_of_client_a_never_sees_client_b(installation: Home) -> None:
    keys = key_store(installation)
    key_a = keys.add("Wholesaler of A", gln=REQ_GLN, company_id="A")
    key_b = keys.add("Wholesaler of B", gln=REQ_GLN, company_id="B")
    unbound = keys.add("Anyone")
    responder = Responder(installation, flush_seconds=3600)
    try:
        status_b, by_b = _ask(responder, key_b, GTIN_B, "B-ONLY")
        assert status_b == 200 and by_b["data"] == {"verified": True}
        status_leak, leak = _ask(responder, key_a, GTIN_B, "B-ONLY")
        status_never, never = _ask(responder, key_a, GTIN_B, "NEVER-ISSUED")
        assert status_leak == status_never == 200
        assert leak["data"]["verified"] is False
        # the same answer, field for field, as a serial nobody ever issued
        assert _comparable(leak) == _comparable(never)
        assert _ask(responder, key_a, GTIN_A, "A1")[1]["data"] == {"verified": True}
        status, text = _ask(responder, unbound, GTIN_A, "A1")
        assert status == 403 and b"several clients" in text
    finally:
        responder.close()
    # the query log does not carry B's company or product into A's rows
    rows = _query_log(installation)
    leaked = [r for r in rows if r["serial"] == "B-ONLY" and r["client_company_id"] == "A"]
    assert leaked and all(r["company_id"] is None and r["product_name"] is None for r in leaked)
    # B's own queries are logged in B's data space (its telemetry and dashboards), never in
    # the responder's (A's) query log
    assert {r["client_company_id"] for r in rows} == {"A", None}
    rows_b = _query_log(installation.client("B"))
    assert [(r["client_company_id"], r["serial"]) for r in rows_b] == [("B", "B-ONLY")]


def _query_log(home: Home) -> list[dict[str, Any]]:
    import duckdb

    files = str(home.raw / "verification" / "queries" / "*.parquet")
    with duckdb.connect() as con:
        cur = con.execute(f"select * from read_parquet('{files}', union_by_name = true)")
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_keys_move_into_the_user_store_once(tmp_path: Path) -> None:
    home = Home(tmp_path / "h").ensure()
    legacy = keys_path(home.root)
    old_key = KeyStore(legacy).add("Old partner", gln=REQ_GLN)  # a key of an older version
    store = key_store(home)
    assert not legacy.exists() and legacy.with_name("keys.sqlite.migrated").is_file()
    assert store.path == home.users_db
    found = store.authenticate(old_key)
    assert found is not None and found.partner == "Old partner" and found.created_by == "migrated"
    assert len(key_store(home).list()) == 1  # migrated once
    with sqlite3.connect(home.users_db) as db:
        assert db.execute("select count(*) from api_key").fetchone() == (1,)


def test_key_commands_record_the_acting_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Home(tmp_path / "h").ensure()
    monkeypatch.setenv("SERIALTRACE_PASSWORD", "password1")
    monkeypatch.setenv("SERIALTRACE_USER", "root")
    h = ["--home", str(home.root)]
    assert main(["users", "add", "root", "--full-name", "Root", "--role", "admin", *h]) == 0
    assert main(["users", "add", "ops", "--full-name", "Ops", "--role", "operator", *h]) == 0
    capsys.readouterr()
    assert main(["verify", "keys", "add", "P1", "--user", "ops", *h]) == 2
    assert "needs a role among admin" in capsys.readouterr().err
    assert main(["verify", "keys", "add", "P1", "--user", "root", *h]) == 0
    key_id = capsys.readouterr().out.strip().split("_")[1]
    assert main(["verify", "keys", "revoke", key_id, "--user", "root", *h]) == 0
    (key,) = key_store(home).list()
    assert (key.created_by, key.revoked_by) == ("root", "root")
