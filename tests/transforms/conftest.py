"""Fixtures for the warehouse tests: a raw zone on disk and a dbt build over it.

The helper modules ``rawzone`` (raw-zone builder) and ``dbt_harness`` (in-process dbt
runner) sit beside this file; it puts their folder on ``sys.path`` so tests (and
other test folders, by the same insertion) can import them.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from dbt_harness import BuiltWarehouse, DbtRun, project_manifest, run_dbt  # noqa: E402
from incremental import apply_stage, stage_one, stage_two  # noqa: E402
from rawzone import DemoZone, demo_raw_zone  # noqa: E402


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    """``dbt build`` over the demo raw zone, once per session."""
    root = tmp_path_factory.mktemp("warehouse")
    demo = demo_raw_zone()
    raw = demo.zone.write(root / "raw")
    started = time.perf_counter()
    run = run_dbt(["build"], raw_dir=raw, warehouse=root / "warehouse.duckdb", work_dir=root)
    return BuiltWarehouse(demo=demo, raw_dir=raw, run=run, seconds=time.perf_counter() - started)


@dataclass(frozen=True)
class IncrementalBuilds:
    """The demo scenario built in two stages, incrementally, and with --full-refresh."""

    demo: DemoZone
    raw_dir: Path
    incremental: Path  # warehouse built by stage 1, then stage 2, then once more unchanged
    full_refresh: Path  # a copy of it rebuilt with --full-refresh
    runs: dict[str, DbtRun]
    changed: dict[str, list[str]]  # run name -> work orders that run (re)built
    # run name -> what it did, in order: ("sql", statement) and ("commit", node id)
    trace: dict[str, list[tuple[str, str]]]


def _changed(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select work_order_id from int_batch_fingerprints where is_changed order by 1"
        ).fetchall()
    return [row[0] for row in rows]


@pytest.fixture(scope="session")
def incremental_builds(tmp_path_factory: pytest.TempPathFactory) -> IncrementalBuilds:
    root = tmp_path_factory.mktemp("incremental")
    raw = stage_one().write(root / "raw")
    demo, final_zone = stage_two()
    final_raw = final_zone.write(root / "final-raw")
    warehouse = root / "warehouse.duckdb"
    runs: dict[str, DbtRun] = {}
    changed: dict[str, list[str]] = {}
    trace: dict[str, list[tuple[str, str]]] = {}

    def build(name: str, target: Path, *flags: str) -> None:
        steps = trace.setdefault(name, [])

        def record(event: Any) -> None:
            if event.info.name == "SQLQuery":
                steps.append(("sql", event.data.sql))
            elif event.info.name == "SQLCommit":
                steps.append(("commit", event.data.node_info.unique_id))

        # the project parsed once per warehouse and reused, as the orchestration does
        runs[name] = run_dbt(
            ["build", *flags],
            raw_dir=raw,
            warehouse=target,
            work_dir=root,
            manifest=project_manifest(raw_dir=raw, warehouse=target),
            callbacks=[record],
        )
        changed[name] = _changed(target) if runs[name].success else []

    build("stage_1", warehouse)
    apply_stage(final_raw, raw)
    build("stage_2", warehouse)
    build("unchanged", warehouse)
    refreshed = root / "full-refresh" / "warehouse.duckdb"
    refreshed.parent.mkdir()
    shutil.copyfile(warehouse, refreshed)
    build("full_refresh", refreshed, "--full-refresh")
    return IncrementalBuilds(demo, raw, warehouse, refreshed, runs, changed, trace)
