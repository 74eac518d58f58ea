"""A warehouse to decommission from: the standard synthetic raw zone of the warehouse
tests (tests/transforms/rawzone.py), its batches closed, built with dbt in-process."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TRANSFORMS_TESTS = Path(__file__).resolve().parent.parent / "transforms"
if str(TRANSFORMS_TESTS) not in sys.path:
    sys.path.insert(0, str(TRANSFORMS_TESTS))

from dbt_harness import run_dbt  # type: ignore[import-not-found]  # noqa: E402
from rawzone import DemoZone, demo_raw_zone  # type: ignore[import-not-found]  # noqa: E402

from serialtrace.lifecycle.batch_close import BatchCloseResult, close_batch  # noqa: E402
from serialtrace.settings import Home  # noqa: E402


@dataclass
class ClosedHome:
    home: Home
    demo: DemoZone
    closes: dict[str, BatchCloseResult]

    def build(self) -> None:
        run = run_dbt(
            ["build"],
            raw_dir=self.home.raw,
            warehouse=self.home.warehouse,
            work_dir=self.home.root / f"dbt-{len(list(self.home.root.glob('dbt-*')))}",
        )
        assert run.success, f"dbt build failed: {sorted(run.failed())}"


def closed_home(root: Path) -> ClosedHome:
    home = Home(root)
    demo = demo_raw_zone()
    demo.zone.write(home.raw)
    closes = {wo: close_batch(home.raw, wo) for wo in demo.zone.work_order_ids()}
    return ClosedHome(home, demo, closes)


@pytest.fixture(scope="module")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> ClosedHome:
    """Batches closed, warehouse built (module scope: tests may add events, not rebuild)."""
    closed = closed_home(tmp_path_factory.mktemp("lifecycle-home"))
    closed.build()
    return closed
