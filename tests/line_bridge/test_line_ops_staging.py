"""dbt staging of the station, metrics and line_state streams, over what a real bridge
run with stations and faults wrote (and over a raw zone with none of these files)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from line_bridge.runner import SimulatorOptions, run_simulated_batch
from line_bridge.simulator import FaultRates
from tests.line_bridge.conftest import batch, sscc
from tests.line_bridge.test_case_camera import camera_line
from tests.transforms.dbt_harness import run_dbt

MODELS = [
    "stg_line_ops__stations",
    "stg_line_ops__metrics",
    "stg_line_ops__line_states",
    "stg_line_ops__case_inspections",
]


def test_line_ops_staging_over_a_run_with_stations(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    faults = FaultRates(
        misprint=0.05, reinserted_reject=1.0, bad_label=0.2, case_unreadable=0.2, case_low_grade=0.1
    )
    result = run_simulated_batch(
        camera_line(), batch(120), raw / "line", sscc(), SimulatorOptions(faults=faults, seed=4)
    )
    assert result.cases_refused > 0 and result.labels_reprinted > 0
    assert result.cases_rejected > 0
    run = run_dbt(
        ["build", "--select", *MODELS],
        raw_dir=raw,
        warehouse=tmp_path / "w.duckdb",
        work_dir=tmp_path,
    )
    assert run.success, sorted(run.failed())
    statuses = run.statuses()
    assert all(statuses[m] == "success" for m in MODELS)
    # the data tests ran: one batch_checks per view holds all its key and column checks
    assert all(statuses[f"batch_checks_{m}"] == "pass" for m in MODELS)
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)

    def one(sql: str) -> tuple[object, ...]:
        row = con.execute(sql).fetchone()
        assert row is not None
        return row

    def raw_count(stream: str) -> int:
        glob = f"{raw}/line/{stream}/*/*.parquet"
        count = duckdb.connect().execute(f"select count(*) from read_parquet('{glob}')").fetchone()
        assert count is not None
        return int(count[0])

    # nothing lost or added on the way
    assert one("select count(*) from stg_line_ops__stations")[0] == raw_count("station")
    assert one("select count(*) from stg_line_ops__metrics")[0] == raw_count("metrics")
    assert one("select count(*) from stg_line_ops__line_states")[0] == raw_count("line_state")
    assert one("select count(*) from stg_line_ops__case_inspections")[0] == raw_count(
        "case_inspect"
    )
    assert one(
        "select count(*) from stg_line_ops__case_inspections where case_inspection_outcome = 'fail'"
    ) == (result.cases_rejected,)
    # the figures the bridge reported are there, by event
    assert one("select count(*) from stg_line_ops__stations where station_event = 'refused'") == (
        result.cases_refused + result.pallets_refused,
    )
    assert one(
        "select count(*) from stg_line_ops__stations where station_event = 'label_failed'"
    ) == (result.labels_reprinted,)
    assert one(
        "select count(distinct sscc) from stg_line_ops__stations where station_event = 'labelled'"
    ) == (result.cases + result.cases_rejected + result.pallets,)
    last = one(
        "select printed_total, passed_total, cases_closed_total from stg_line_ops__metrics "
        "order by measured_at desc limit 1"
    )
    assert last == (120, result.passed, result.cases)
    # line states: numbered in time order; the holds for refused cases have a duration,
    # the last state (complete) none
    states = con.execute(
        "select transition_no, to_state, seconds_in_state from stg_line_ops__line_states "
        "order by transition_no"
    ).fetchall()
    assert [n for n, _, _ in states] == list(range(1, len(states) + 1))
    assert states[-1][1:] == ("complete", None)
    held = [s for _, state, s in states if state == "held"]
    assert held and all(isinstance(s, float) and s >= 0 for s in held)
    con.close()


def test_line_ops_staging_over_a_raw_zone_without_these_streams(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    run = run_dbt(
        ["run", "--select", *MODELS],
        raw_dir=raw,
        warehouse=tmp_path / "w.duckdb",
        work_dir=tmp_path,
    )
    assert run.success, sorted(run.failed())
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        for model in MODELS:
            assert con.execute(f"select count(*) from {model}").fetchone() == (0,)
