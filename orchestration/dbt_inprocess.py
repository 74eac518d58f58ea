"""dbt run inside this Python process (dbtRunner), with the parsed project kept warm.

dagster-dbt's ``DbtCliResource`` starts ``dbt`` as a child process for every run: a new
interpreter, dbt's imports and a (partial) parse of the project before the first node,
~6 s of CPU on this project whatever the data. Here the dbt assets call dbt's own
programmatic entry point instead: the project is parsed once per process and
environment (``parsed_manifest``; dbt's partial parse file in ``transforms/target``
makes even that first parse cheap), and every build reuses the parsed manifest
(``dbtRunner(manifest=...)`` skips parsing). Events come through dbt's callback as the
same structured dictionaries ``dbt --log-format json`` prints, so dagster-dbt's own
conversion turns them into materializations and asset-check results.

docs/warehouse.md, "A data-triggered build".
"""

import os
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serialtrace.errors import SerialtraceError

# one dbt invocation at a time in a process: dbt keeps global state (flags, adapters,
# the event manager) for the invocation that runs
_LOCK = threading.RLock()
_MANIFESTS: dict[tuple[str, float, tuple[tuple[str, str], ...]], Any] = {}


# folders of a dbt project that hold what dbt writes or installs, never its sources:
# the target folder alone gathers tens of thousands of files over the runs
_NOT_SOURCES = frozenset({"target", "logs", "dbt_packages", "__pycache__"})
_SOURCE_SUFFIXES = (".sql", ".yml", ".yaml", ".csv")


def newest_source_mtime(project_dir: Path) -> float:
    """The newest modification time of the project's SQL, YAML and seed CSV files; the
    folders dbt writes (target/, logs/, dbt_packages/) and hidden files and folders are
    left out."""
    newest = 0.0
    for folder, subfolders, files in os.walk(project_dir):
        subfolders[:] = [d for d in subfolders if d not in _NOT_SOURCES and not d.startswith(".")]
        for name in files:
            if name.endswith(_SOURCE_SUFFIXES) and not name.startswith("."):
                newest = max(newest, (Path(folder) / name).stat().st_mtime)
    return newest


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` set in ``os.environ`` for the block (dbt reads its env_var()s there),
    the previous values restored after."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _common_args(project_dir: Path, profiles_dir: Path) -> list[str]:
    return ["--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir)]


def parsed_manifest(project_dir: Path, profiles_dir: Path, env: Mapping[str, str]) -> Any:
    """The parsed project (dbt's ``Manifest``) for these environment variables, parsed on
    first use in this process and again only when a project file changed. The sources'
    locations come from the environment, so each environment has its own manifest."""
    from dbt.cli.main import dbtRunner

    key = (str(project_dir), newest_source_mtime(project_dir), tuple(sorted(env.items())))
    with _LOCK:
        manifest = _MANIFESTS.get(key)
        if manifest is not None:
            return manifest
        with environment(env):
            result = dbtRunner().invoke(
                ["parse", "--quiet", *_common_args(project_dir, profiles_dir)]
            )
        if not result.success or result.result is None:
            raise SerialtraceError(f"dbt parse of {project_dir} failed: {result.exception}")
        for stale in [k for k in _MANIFESTS if k[0] == key[0] and k[2] == key[2]]:
            del _MANIFESTS[stale]
        _MANIFESTS[key] = result.result
        return result.result


@dataclass
class InvocationOutcome:
    """What one in-process dbt invocation did."""

    success: bool = False
    exception: BaseException | None = None
    seconds: float = 0.0
    results: list[Any] = field(default_factory=list)  # dbt's RunResult per node

    def failed(self) -> list[str]:
        """Names of the nodes that failed or errored."""
        return [r.node.name for r in self.results if str(r.status) in ("fail", "error")]


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a run.

    dbt-duckdb holds one process-wide DuckDB instance between invocations; while it is
    open, DuckDB refuses any other connection to the same file from this process with
    another configuration (a reader's read-only one: "different configuration than
    existing connections"), so the assets downstream of the build could not read it.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment = DuckDBConnectionManager._ENV
        if environment is not None:
            environment.close()
        DuckDBConnectionManager._ENV = None  # what close_all_connections() does


_DONE = object()
# the dbt events dagster-dbt turns into materializations and asset-check results
RESULT_EVENTS = frozenset({"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"})


def stream_dbt(
    args: Sequence[str],
    *,
    project_dir: Path,
    profiles_dir: Path,
    env: Mapping[str, str],
    outcome: InvocationOutcome | None = None,
    write_json: bool = False,
) -> Iterator[dict[str, Any]]:
    """Run ``dbt <args>`` in this process with the warm manifest and yield its events as
    structured-log dictionaries ({"info": ..., "data": ...}) while it runs. ``outcome``
    receives the result; the iterator ends when dbt does. Artifacts (run_results.json,
    manifest.json) are not written unless ``write_json``: nothing reads them on this path.
    Compiled SQL goes to a target folder of its own per invocation."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.base_types import EventMsg
    from dbt_common.events.functions import msg_to_dict

    outcome = outcome if outcome is not None else InvocationOutcome()
    events: queue.Queue[Any] = queue.Queue()
    target = project_dir / "target" / "inprocess" / uuid.uuid4().hex[:12]

    def callback(event: EventMsg) -> None:
        # only the per-node results become Dagster events; converting the thousands of
        # other events (SQL, timings) cost ~1 CPU s a build
        if event.info.name in RESULT_EVENTS:
            events.put(msg_to_dict(event))

    def run() -> None:
        started = time.perf_counter()
        try:
            with _LOCK:
                # dbt's own settings (DBT_*) do not change what the parse renders
                project_env = {k: v for k, v in env.items() if not k.startswith("DBT_")}
                manifest = parsed_manifest(project_dir, profiles_dir, project_env)
                command = [
                    *args,
                    *_common_args(project_dir, profiles_dir),
                    "--target-path",
                    str(target),
                    "--log-path",
                    str(target),
                    "--log-level-file",
                    "none",
                    "--no-use-colors",
                    "--quiet",  # errors only on stdout: the results come as events
                    "--write-json" if write_json else "--no-write-json",
                ]
                try:
                    with environment(env):
                        result = dbtRunner(manifest=manifest, callbacks=[callback]).invoke(command)
                finally:
                    release_duckdb()
                    shutil.rmtree(target, ignore_errors=True)
            outcome.success = bool(result.success)
            outcome.exception = result.exception
            outcome.results = list(getattr(result.result, "results", None) or [])
        except BaseException as error:  # reported by the consumer, never lost
            outcome.exception = error
        finally:
            outcome.seconds = time.perf_counter() - started
            events.put(_DONE)

    worker = threading.Thread(target=run, name="dbt-inprocess", daemon=True)
    worker.start()
    while True:
        item = events.get()
        if item is _DONE:
            break
        yield item
    worker.join()
