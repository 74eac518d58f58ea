"""Aggregation stations: the case packer and the palletizer say what they packed, the
bridge closes a case only when every item in it passed and was scanned into it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import duckdb
import pytest

from line_bridge.journal import LineJournal
from line_bridge.linefile import LineFile, load_line_file, parse_line_file
from line_bridge.runner import SimulatorOptions, run_simulated_batch
from line_bridge.simulator import FaultRates
from line_bridge.stations import ContainerRefusedError, StationPacking
from serialtrace.errors import ValidationError
from tests.line_bridge.conftest import GTIN, batch, sscc

AT = datetime(2026, 11, 25, tzinfo=UTC)
STREAMS = (
    "print",
    "inspect",
    "reject",
    "aggregate",
    "line_state",
    "metrics",
    "station",
    "case_inspect",
)


def station_line(**line: Any) -> LineFile:
    names = {
        "printer": "PRN-T",
        "camera": "CAM-T",
        "gate": "REJ-T",
        "case_packer": "CPK-T",
        "case_labeler": "CLB-T",
        "palletizer": "PAL-T",
        "pallet_labeler": "PLB-T",
    }
    return parse_line_file(
        {
            "line": {"id": "LINE-S", "case_size": 10, "pallet_size": 4, **line},
            "devices": {kind: {"driver": "jsonl", "name": n} for kind, n in names.items()},
        }
    )


def _query(raw: Path, sql: str) -> list[Any]:
    con = duckdb.connect()
    for stream in STREAMS:
        con.execute(
            f"create view {stream}_s as select * from "
            f"read_parquet('{raw}/{stream}/*/*.parquet', hive_partitioning = true)"
        )
    return con.execute(sql).fetchall()


def test_stations_pack_every_passed_unit_with_partials_at_batch_end(raw_line: Path) -> None:
    result = run_simulated_batch(
        station_line(), batch(105), raw_line, sscc(), SimulatorOptions(seed=1)
    )
    assert result.passed == 105 and result.unpacked == 0
    assert (result.cases, result.pallets) == (11, 3)
    assert (result.cases_refused, result.pallets_refused) == (0, 0)

    def q(sql: str) -> list[Any]:
        return _query(raw_line, sql)

    # every passed item in exactly one case; the last case and pallet partial, explicitly
    assert q(
        "select count(*), count(distinct child_serial) from aggregate_s where child_level = 'item'"
    ) == [(105, 105)]
    sizes = q(
        "select parent_sscc, count(*), bool_and(parent_full) from aggregate_s "
        "where parent_level = 'case' group by 1 order by 2"
    )
    assert [(n, full) for _, n, full in sizes] == [(5, False)] + [(10, True)] * 10
    pallets = q(
        "select count(*), bool_and(parent_full) from aggregate_s "
        "where parent_level = 'pallet' group by parent_sscc order by 1"
    )
    assert pallets == [(3, False), (4, True), (4, True)]
    # what the stations scanned is in the station stream, and every SSCC was labelled
    assert q("select count(*) from station_s where event = 'scan' and level = 'case'") == [(105,)]
    labelled = q("select count(distinct sscc) from station_s where event = 'labelled'")
    assert labelled == [(14,)]
    states = [s for (s,) in q("select to_state from line_state_s order by changed_at")]
    assert states == ["starting", "execute", "completing", "complete"]
    # metrics: rejects by cause, grade distribution, containers
    last = q(
        "select rejects_by_cause, grade_counts, cases_closed, pallets_closed "
        "from metrics_s order by measured_at desc limit 1"
    )[0]
    assert json.loads(last[0]) == {}
    assert sum(json.loads(last[1]).values()) == 105
    assert last[2:] == (11, 3)
    # a restart rebuilds the same packing from the journal
    journal = LineJournal(raw_line, "WO-T", "LINE-S")
    try:
        restored = StationPacking(GTIN, 10, 4, sscc())
        restored.restore(list(journal.history("aggregate")), list(journal.history("station")))
    finally:
        journal.close()
    assert (restored.cases_closed, restored.pallets_closed) == (11, 3)
    assert len(restored.item_case) == 105 and not restored.open
    assert restored.cases_off_pallet() == 0
    # running the finished batch again: nothing printed or packed twice
    again = run_simulated_batch(
        station_line(), batch(105), raw_line, sscc(), SimulatorOptions(seed=2)
    )
    assert again.printed == 105 and again.printed_before == 105
    assert (again.cases, again.pallets, again.unpacked) == (11, 3, 0)
    assert q("select count(*) from aggregate_s") == [(105 + 11,)]


def test_station_faults_refuse_cases_and_never_pack_a_rejected_unit(raw_line: Path) -> None:
    faults = FaultRates(
        misprint=0.03,
        unreadable=0.03,
        missing_scan=0.01,
        duplicate_scan=0.03,
        reinserted_reject=0.5,
    )
    result = run_simulated_batch(
        station_line(), batch(300), raw_line, sscc(), SimulatorOptions(faults=faults, seed=3)
    )
    assert result.printed == 300 and result.rejected > 0
    assert result.cases_refused > 0

    def q(sql: str) -> list[Any]:
        return _query(raw_line, sql)

    # a case holds only passed units, each in one case
    assert q(
        "select count(*) from aggregate_s a join inspect_s i "
        "on i.expected_serial = a.child_serial where i.outcome = 'fail'"
    ) == [(0,)]
    assert q(
        "select count(*) - count(distinct child_serial) from aggregate_s where child_level = 'item'"
    ) == [(0,)]
    packed = q("select count(*) from aggregate_s where child_level = 'item'")[0][0]
    assert result.unpacked == result.passed - packed > 0
    # every refusal has its reason and was diverted; the line held for it and resumed
    reasons = [r for (r,) in q("select reason from station_s where event = 'refused'")]
    assert len(reasons) == result.cases_refused + result.pallets_refused
    assert any("scanned" in r for r in reasons)  # a missed scan
    assert any("rejected" in r or "not a unit" in r or "already packed" in r for r in reasons)
    assert q("select count(*) from station_s where event = 'diverted'") == [(len(reasons),)]
    held = [r for s, r in q("select to_state, reason from line_state_s") if s == "held"]
    assert held and all("refused" in r for r in held)
    # a duplicate scan of one item is one child, not a refusal
    assert (
        q(
            "select count(*) from (select container, code from station_s "
            "where event = 'scan' group by all having count(*) > 1)"
        )[0][0]
        > 0
    )


def _packing(case_size: int = 3, pallet_size: int = 2) -> StationPacking:
    numbers = count(1)
    packing = StationPacking(GTIN, case_size, pallet_size, lambda lvl: f"{next(numbers):018d}")
    for i in range(1, 8):
        packing.payloads[f"code-{i}"] = f"S{i}"
    packing.passed |= {"S1", "S2", "S3", "S4", "S5"}
    packing.rejected["S6"] = "wrong_data"
    return packing


def _fill(packing: StationPacking, level: str, container: int, codes: list[str]) -> None:
    for code in codes:
        packing.scan(level, container, code)


def test_case_close_checks() -> None:
    p = _packing()
    _fill(p, "case", 1, ["code-1", "code-2", "code-2", "code-3"])  # one read twice
    rows = p.close("case", 1, 3, AT)
    assert [r["child_serial"] for r in rows] == ["S1", "S2", "S3"] and rows[0]["parent_full"]
    cases = [
        (["code-4", "code-6"], 2, "item S6 was rejected (wrong_data)"),
        (["code-4", "code-7"], 2, "item S7 has no camera pass"),
        (["code-4", "code-1"], 2, "already packed in case"),
        (["code-4", "unknown"], 2, "not a unit of this batch"),
        (["code-4"], 2, "2 counted in the case but 1 scanned"),
    ]
    for number, (codes, n, reason) in enumerate(cases, start=2):
        _fill(p, "case", number, codes)
        with pytest.raises(ContainerRefusedError, match=re.escape(reason)):
            p.close("case", number, n, AT)
    assert p.refused["case"] == len(cases) and p.cases_closed == 1
    _fill(p, "case", 9, ["code-4", "code-5"])
    partial = p.close("case", 9, 2, AT)
    assert len(partial) == 2 and not partial[0]["parent_full"]
    assert p.close("case", 10, 0, AT) == []  # an empty case at batch end: nothing
    assert p.unpacked() == 0


def test_pallet_close_checks() -> None:
    p = _packing()
    _fill(p, "case", 1, ["code-1"])
    case = p.close("case", 1, 1, AT)[0]["parent_sscc"]
    _fill(p, "pallet", 1, [f"00{case}"])
    pallet = p.close("pallet", 1, 1, AT)
    assert pallet[0]["child_sscc"] == case and p.cases_off_pallet() == 0
    _fill(p, "pallet", 2, [f"00{case}"])
    with pytest.raises(ContainerRefusedError, match="already on pallet"):
        p.close("pallet", 2, 1, AT)
    _fill(p, "pallet", 3, ["00" + "9" * 18])
    with pytest.raises(ContainerRefusedError, match="not a closed case"):
        p.close("pallet", 3, 1, AT)


def test_stations_come_all_four_or_none() -> None:
    with pytest.raises(ValidationError, match="all four or none"):
        parse_line_file(
            {
                "line": {"id": "L"},
                "devices": {
                    "printer": {},
                    "camera": {},
                    "gate": {},
                    "case_packer": {},
                },
            }
        )
    assert station_line().stations is not None


def test_shipped_line_files_parse() -> None:
    folder = Path(__file__).parents[2] / "line_bridge" / "lines"
    station = load_line_file(folder / "station-line.toml")
    assert station.stations is not None and station.line.member_state == "DE"
    assert load_line_file(folder / "example-line.toml").stations is None
