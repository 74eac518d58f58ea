"""Run the dbt project in ``transforms/`` against a raw zone, in-process.

Every run gets its own target and log folders (under ``work_dir``) so parallel runs do
not collide, and the two environment variables the project reads are set only for
the duration of the run.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbt.cli.main import dbtRunner, dbtRunnerResult

from orchestration.dbt_inprocess import environment, parsed_manifest, release_duckdb

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TRANSFORMS_DIR = PROJECT_ROOT / "transforms"
if TYPE_CHECKING:
    from rawzone import DemoZone

RAW_DIR_ENV = "SERIALTRACE_RAW_DIR"
WAREHOUSE_ENV = "SERIALTRACE_WAREHOUSE"


@dataclass(frozen=True)
class DbtRun:
    """Outcome of one dbt invocation."""

    result: dbtRunnerResult
    warehouse: Path
    target_dir: Path

    @property
    def success(self) -> bool:
        return bool(self.result.success)

    def statuses(self) -> dict[str, str]:
        """Node name -> status ('success', 'pass', 'fail', 'error', 'skipped', ...)."""
        results = getattr(self.result.result, "results", None) or []
        return {r.node.name: str(r.status) for r in results}

    def failed(self) -> set[str]:
        return {name for name, status in self.statuses().items() if status in ("fail", "error")}


@dataclass(frozen=True)
class BuiltWarehouse:
    """A raw zone and the dbt build over it (what the ``built_warehouse`` fixture gives)."""

    demo: DemoZone
    raw_dir: Path
    run: DbtRun
    seconds: float

    @property
    def path(self) -> Path:
        return self.run.warehouse

    def compiled(self, test_name: str) -> str:
        """The SQL the build compiled for the data test ``test_name``."""
        (path,) = self.run.target_dir.rglob(f"compiled/**/{test_name}.sql")
        return path.read_text()

    def broken_copy(self, folder: Path, statements: Sequence[str]) -> Path:
        """A copy of the warehouse in ``folder`` with ``statements`` run on it."""
        return broken_copy(self.path, folder, statements)


def broken_copy(warehouse: Path, folder: Path, statements: Sequence[str]) -> Path:
    """A copy of ``warehouse`` in ``folder`` (created if need be) with ``statements`` run
    on it (same file name: the compiled SQL names the database after it)."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / warehouse.name
    shutil.copyfile(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        for statement in statements:
            con.execute(statement)
    return copy


def run_dbt(
    command: Sequence[str],
    *,
    raw_dir: Path,
    warehouse: Path,
    work_dir: Path,
    manifest: Any = None,
    callbacks: Sequence[Callable[[Any], None]] = (),
) -> DbtRun:
    """Invoke ``dbt <command>`` on ``transforms/`` with the given raw zone and warehouse.

    ``manifest``: a project parsed earlier in this process (``parsed_manifest``), reused
    as the orchestration's in-process runs reuse it; ``callbacks`` receive every event."""
    target_dir = work_dir / "dbt-target"
    args = [
        *command,
        "--project-dir",
        str(TRANSFORMS_DIR),
        "--profiles-dir",
        str(TRANSFORMS_DIR),
        "--target-path",
        str(target_dir),
        "--log-path",
        str(work_dir / "dbt-logs"),
        "--no-use-colors",
    ]
    with environment(_project_env(raw_dir, warehouse)):
        try:
            result = dbtRunner(manifest=manifest, callbacks=list(callbacks)).invoke(args)
        finally:
            # dbt-duckdb keeps the database open after a run; a read-only connection
            # to it from this process would be refused
            release_duckdb()
    return DbtRun(result=result, warehouse=warehouse, target_dir=target_dir)


def project_manifest(*, raw_dir: Path, warehouse: Path) -> Any:
    """The project parsed once in this process for this raw zone and warehouse (the
    in-process orchestration's cache, orchestration/dbt_inprocess.py)."""
    return parsed_manifest(TRANSFORMS_DIR, TRANSFORMS_DIR, _project_env(raw_dir, warehouse))


def _project_env(raw_dir: Path, warehouse: Path) -> dict[str, str]:
    """The two environment variables the project reads."""
    return {RAW_DIR_ENV: str(raw_dir.resolve()), WAREHOUSE_ENV: str(warehouse.resolve())}
