"""Rework after packing: unpack, replace, pack again, through the journal; illegal moves
refused with one line."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest

from line_bridge.journal import LineJournal
from line_bridge.rework import Rework, ReworkRefusedError
from serialtrace.cli import main
from serialtrace.config import load_demo_config
from serialtrace.demo import open_work_order
from serialtrace.lifecycle.store import append_events
from serialtrace.serials.ledger import SerialLedger
from serialtrace.settings import Home

WO = "WO-RW-1"
UNITS = 70


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A batch of 70 units run on the simulated line (cases of 20): 3 full cases and a
    partial one on one pallet, some units rejected."""
    root = tmp_path_factory.mktemp("rework")
    home = Home(root / "home")
    with SerialLedger(home.ensure().serial_ledger) as ledger:
        open_work_order(home, load_demo_config(), UNITS, ledger, WO)
    line = root / "line.toml"
    line.write_text(
        '[line]\nid = "LINE-RW"\ncase_size = 20\npallet_size = 40\n\n'
        + "".join(f"[devices.{kind}]\n" for kind in ("printer", "camera", "gate"))
    )
    code = main(
        [
            *("line", "run", "--line", str(line), "--order", WO, "--simulate", "--json"),
            *("--faults", "unreadable=0.08", "--seed", "6", "--home", str(home.root)),
        ]
    )
    assert code == 0
    return home


def _links(home: Home) -> dict[str, list[str]]:
    """Current parent → children, replaying the Parquet stream as the warehouse does."""
    rows = _sql(
        f"""
        select parent_sscc, coalesce(child_serial, child_sscc) as child from (
            select *, row_number() over (
                partition by parent_sscc, coalesce(child_serial, child_sscc)
                order by aggregated_at desc, case when action = 'DELETE' then 0 else 1 end
            ) as r
            from read_parquet('{home.raw_line}/aggregate/work_order={WO}/*.parquet')
        ) where r = 1 and action = 'ADD' order by all
        """
    ).fetchall()
    links: dict[str, list[str]] = {}
    for parent, child in rows:
        links.setdefault(parent, []).append(child)
    return links


def _state(home: Home) -> tuple[list[str], list[str], str]:
    inspect = f"read_parquet('{home.raw_line}/inspect/work_order={WO}/*.parquet')"
    passed = [
        s
        for (s,) in _sql(
            f"select expected_serial from {inspect} where outcome = 'pass' order by 1"
        ).fetchall()
    ]
    failed = [
        s
        for (s,) in _sql(
            f"select expected_serial from {inspect} where outcome = 'fail' order by 1"
        ).fetchall()
    ]
    pallet = next(p for p, c in _links(home).items() if len(c) <= 4)
    return passed, failed, pallet


def rework(home: Home, *args: str) -> int:
    return main(["line", "rework", *args, "--home", str(home.root)])


def test_unpack_replace_and_pack_again(packed: Home, capsys: pytest.CaptureFixture[str]) -> None:
    home = packed
    passed, failed, pallet = _state(home)
    links = _links(home)
    cases = [c for c in links[pallet]]
    assert len(cases) == 4 and failed
    full = next(c for c in cases if len(links[c]) == 20)
    partial = next(c for c in cases if len(links[c]) < 20)
    # unpack a full case: its items are loose, the case is off the pallet
    assert rework(home, "unpack", "--sscc", full) == 0
    links = _links(home)
    assert full not in links and full not in links[pallet]
    loose = sorted(set(passed) - {s for c in links.values() for s in c if s in passed})
    assert len(loose) == 20
    # replace an item of the partial case by a loose one
    out = links[partial][0]
    assert rework(home, "replace", "--case", partial, "--remove", out, "--add", loose[0]) == 0
    links = _links(home)
    assert out not in links[partial] and loose[0] in links[partial]
    # pack loose items into a new case and put it on the pallet
    capsys.readouterr()
    add = [*[s for s in loose[1:] if s != out][:5], out]
    assert rework(home, "pack", "--case", "new", "--order", WO, "--add", *add, "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    new_case = rows[0]["parent_sscc"]
    assert len(new_case) == 18 and {r["action"] for r in rows} == {"ADD"}
    assert rework(home, "pack", "--pallet", pallet, "--add", new_case) == 0
    links = _links(home)
    assert sorted(links[new_case]) == sorted(add) and new_case in links[pallet]
    # the journal holds the same rows as the Parquet parts
    journal = home.raw_line / "_journal" / f"work_order={WO}" / "aggregate.jsonl"
    parts = _sql(
        f"select count(*) from read_parquet('{home.raw_line}/aggregate/work_order={WO}/*')"
    ).fetchall()
    assert parts == [(len(journal.read_text().splitlines()),)]


def test_illegal_moves_are_refused_with_one_line(
    packed: Home, capsys: pytest.CaptureFixture[str]
) -> None:
    home = packed
    _, failed, pallet = _state(home)
    links = _links(home)
    case, other = [c for c in links[pallet]][:2]
    inside, elsewhere = links[case][0], links[other][0]
    refusals: list[tuple[list[str], str]] = [
        (["pack", "--case", case, "--add", failed[0]], "was rejected at the line"),
        (["pack", "--case", case, "--add", "NOSUCHSERIAL"], "has no camera pass"),
        (["pack", "--case", case, "--add", elsewhere], f"is already in case {other}"),
        (["replace", "--case", case, "--remove", elsewhere, "--add", inside], "is not in case"),
        (["unpack", "--sscc", "9" * 18], "is packed in no work order"),
        (["pack", "--pallet", pallet, "--add", case], "is already on pallet"),
    ]
    for args, message in refusals:
        capsys.readouterr()
        assert rework(home, *args) != 0, args
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, (args, err)
    # a unit decommissioned since the line may not be packed again
    rework(home, "unpack", "--sscc", case)
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "request_id": str(uuid.uuid4()),
        "gtin": load_gtin(home),
        "serial": inside,
        "work_order_id": WO,
        "from_status": "commissioned",
        "to_status": "decommissioned",
        "reason": "destroyed",
        "scope": "serial",
        "scope_id": inside,
        "location_gln": None,
        "recorded_by": "test",
        "source": "cli",
        "occurred_at": now,
        "recorded_at": now,
    }
    append_events(home.raw, "rework-test", [event])
    capsys.readouterr()
    assert rework(home, "pack", "--case", case, "--add", inside) != 0
    assert "decommissioned" in capsys.readouterr().err
    # no rework while a bridge holds the batch's journal
    journal = LineJournal(home.raw_line, WO, "LINE-RW")
    try:
        with pytest.raises(Exception, match="in use by another process"):
            Rework(home.raw, WO)
    finally:
        journal.close()
    now_links = _links(home)
    full = next(c for c, children in now_links.items() if len(children) == 20)
    spare = [s for s in links[case] if s != inside][:1]
    r = Rework(home.raw, WO)
    try:
        with pytest.raises(ReworkRefusedError, match="would hold 21, more than 20"):
            r.pack(full, "case", spare, lambda level: "x")
    finally:
        r.close()


def _sql(sql: str) -> duckdb.DuckDBPyConnection:
    return duckdb.connect().execute(sql)


def load_gtin(home: Home) -> str:
    row = _sql(
        f"select gtin from read_parquet('{home.raw_line}/print/work_order={WO}/*') limit 1"
    ).fetchone()
    assert row is not None
    return str(row[0])
