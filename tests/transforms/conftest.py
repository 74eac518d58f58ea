"""Fixtures for the warehouse tests: a raw zone on disk and a dbt build over it.

The helper modules ``rawzone`` (raw-zone builder) and ``dbt_harness`` (in-process dbt
runner) sit beside this file; it puts their folder on ``sys.path`` so tests (and
other test folders, by the same insertion) can import them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from dbt_harness import BuiltWarehouse, run_dbt  # noqa: E402
from rawzone import demo_raw_zone  # noqa: E402


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    """``dbt build`` over the demo raw zone, once per session."""
    root = tmp_path_factory.mktemp("warehouse")
    demo = demo_raw_zone()
    raw = demo.zone.write(root / "raw")
    started = time.perf_counter()
    run = run_dbt(["build"], raw_dir=raw, warehouse=root / "warehouse.duckdb", work_dir=root)
    return BuiltWarehouse(demo=demo, raw_dir=raw, run=run, seconds=time.perf_counter() - started)
