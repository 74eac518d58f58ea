"""The real bridge and its production adapters against the device simulators, each in
its own process, on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from line_bridge.bridge import LineHeldError
from line_bridge.runner import SimulatorOptions, run_batch, run_simulated_batch
from line_bridge.simulator import FaultRates
from tests.line_bridge.conftest import batch, line_file, sscc


def _query(raw: Path, sql: str) -> list[Any]:
    con = duckdb.connect()
    for stream in ("print", "inspect", "reject", "aggregate", "line_state", "metrics"):
        con.execute(
            f"create view {stream}_s as select * from "
            f"read_parquet('{raw}/{stream}/*/*.parquet', hive_partitioning = true)"
        )
    return con.execute(sql).fetchall()


def test_every_fault_is_rejected_for_the_right_cause(raw_line: Path) -> None:
    faults = FaultRates(
        misprint=0.04, unreadable=0.04, low_grade=0.04, duplicate_read=0.04, camera_timeout=0.03
    )
    result = run_simulated_batch(
        line_file(decision_budget_ms=300),
        batch(500),
        raw_line,
        sscc(),
        SimulatorOptions(faults=faults, seed=5),
    )
    assert result.printed == 500 and result.passed + result.rejected == 500
    assert set(result.reject_causes) == {
        "wrong_data",
        "unreadable",
        "low_grade",
        "duplicate",
        "timeout",
    }

    def q(sql: str) -> list[Any]:
        return _query(raw_line, sql)

    assert q("select count(*), count(distinct serial) from print_s") == [(500, 500)]
    assert q("select count(distinct seq) from inspect_s") == [(500,)]
    fails = q("select expected_serial, cause from inspect_s where outcome = 'fail'")
    rejects = q("select serial, cause from reject_s where confirmed")
    assert sorted(fails) == sorted(rejects) and len(fails) == result.rejected
    items = q("select child_serial from aggregate_s where child_level = 'item'")
    passed = q("select expected_serial from inspect_s where outcome = 'pass'")
    assert sorted(items) == sorted(passed)
    # why each unit was rejected can be read from the stream
    for cause, decoded, decoded_serial, expected, grade in q(
        "select cause, decoded_payload, decoded_serial, expected_serial, grade_value "
        "from inspect_s where outcome = 'fail'"
    ):
        if cause in ("unreadable", "timeout"):
            assert decoded is None
        elif cause == "low_grade":
            assert grade < 1.5 and decoded_serial == expected
        elif cause in ("wrong_data", "duplicate"):
            assert decoded_serial != expected
    states = [s for (s,) in q("select to_state from line_state_s order by changed_at")]
    assert states == ["starting", "execute", "completing", "complete"]
    assert q("select max(printed) from metrics_s") == [(500,)]


def test_second_printer_dialect_drives_the_same_line(raw_line: Path) -> None:
    result = run_simulated_batch(
        line_file(printer="textcmd"),
        batch(120),
        raw_line,
        sscc(),
        SimulatorOptions(faults=FaultRates(misprint=0.1), seed=2),
    )
    assert result.printed == 120 and result.reject_causes.keys() <= {"wrong_data", "duplicate"}
    assert result.rejected > 0


def test_real_datamatrix_symbols_round_trip(raw_line: Path) -> None:
    # rendering and decoding symbols is slow on a loaded machine: a budget that only a
    # lost result can exceed, so that every reject here is the symbol's
    result = run_simulated_batch(
        line_file(decision_budget_ms=10_000),
        batch(60),
        raw_line,
        sscc(),
        SimulatorOptions(faults=FaultRates(unreadable=0.15), seed=4, symbols=True),
    )
    assert result.printed == 60 and result.rejected >= 1
    assert set(result.reject_causes) == {"unreadable"}
    rows = _query(
        raw_line,
        "select count(*) from inspect_s where outcome = 'pass' "
        "and decoded_payload = (select payload from print_s p "
        "where p.seq = inspect_s.seq)",
    )
    assert rows == [(result.passed,)]


def test_unconfirmed_reject_holds_the_line_and_nothing_is_lost(raw_line: Path) -> None:
    options = SimulatorOptions(
        faults=FaultRates(unreadable=0.2), seed=3, unconfirmed_reject_rate=1.0
    )
    with pytest.raises(LineHeldError, match="not confirmed"):
        run_simulated_batch(line_file(), batch(300), raw_line, sscc(), options)

    def q(sql: str) -> list[Any]:
        return _query(raw_line, sql)

    assert ("held",) in q("select to_state from line_state_s")
    assert (False,) in q("select confirmed from reject_s")
    # every serial sent to the printer has exactly one outcome, units in flight retired
    commanded = q("select count(*) from print_s")[0][0]
    outcomes = q("select count(*), count(distinct seq) from inspect_s")[0]
    assert outcomes == (commanded, commanded)
    assert q(
        "select count(*) from inspect_s i where outcome = 'fail' and not exists "
        "(select 1 from reject_s r where r.seq = i.seq)"
    ) == [(0,)]


def test_device_disconnect_holds_then_resumes(raw_line: Path) -> None:
    options = SimulatorOptions(seed=1, camera_disconnect_after=50)
    result = run_simulated_batch(line_file(), batch(200), raw_line, sscc(), options)
    assert result.printed == 200 and result.passed + result.rejected == 200
    reasons = _query(raw_line, "select to_state, reason from line_state_s order by changed_at")
    held = [r for s, r in reasons if s == "held"]
    assert held and "CAM-T disconnected" in held[0]
    assert any(s == "execute" and "reconnected" in r for s, r in reasons)


def test_unreachable_device_is_a_clear_error(raw_line: Path) -> None:
    with pytest.raises(LineHeldError, match="cannot reach the"):
        run_batch(
            line_file().with_ports({"printer": 1, "camera": 1, "gate": 1}),
            batch(5),
            raw_line,
            sscc(),
        )


def test_restart_closes_a_case_filled_just_before_the_kill(raw_line: Path, tmp_path: Path) -> None:
    """The bridge died after journaling the pass of a case's last item and before
    journaling that case (two writes): the restart closes the case before packing on, so
    the next units start a new case instead of overfilling it."""
    run_simulated_batch(line_file(), batch(20), raw_line, sscc(), SimulatorOptions(seed=3))
    journal = raw_line / "_journal" / "work_order=WO-T"
    crashed = tmp_path / "crashed" / "raw" / "line"
    (crashed / "_journal" / "work_order=WO-T").mkdir(parents=True)
    for stream in ("print_command", "print", "inspect"):  # as journaled, no Parquet yet
        text = (journal / f"{stream}.jsonl").read_text()
        (crashed / "_journal" / "work_order=WO-T" / f"{stream}.jsonl").write_text(text)
    first_case = (journal / "aggregate.jsonl").read_text().splitlines()[:10]  # case 1 only
    assert all('"child_level":"item"' in row for row in first_case)
    (crashed / "_journal" / "work_order=WO-T" / "aggregate.jsonl").write_text(
        "\n".join(first_case) + "\n"
    )
    numbers = iter(range(100, 200))  # the restarted run's own SSCC reservation
    result = run_simulated_batch(
        line_file(),
        batch(25),
        crashed,
        lambda level: f"{level}-{next(numbers)}",
        SimulatorOptions(seed=3),
    )
    assert result.printed == 25 and result.passed == 25
    per_case = _query(
        crashed,
        "select parent_sscc, count(*), bool_and(parent_full) from aggregate_s "
        "where child_level = 'item' group by all order by min(aggregated_at), 1",
    )
    assert [(n, full) for _, n, full in per_case] == [(10, True), (10, True), (5, False)]
    assert _query(crashed, "select count(distinct child_serial) from aggregate_s") == [(25,)]
    pallets = _query(crashed, "select count(*) from aggregate_s where child_level = 'case'")
    assert pallets == [(3,)]
