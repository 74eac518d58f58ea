"""Child process of bench/warehouse_build.py: the data-triggered build run in process, as
the Dagster dbt assets run it (orchestration/dbt_inprocess.py).

Reads one command per line on stdin: ``parse`` (the project, as a fresh Dagster run
worker does first), ``build`` (``dbt build --selector new_line_data`` with the parsed
manifest), ``build-all`` (``dbt build`` of the whole project, every test and unit test
included, with the parsed manifest) or ``dagster`` (the data-triggered build as a run
of the Dagster job the sensors start, ``warehouse_batch_job``, executed in this process
with the Dagster instance of the home ``SERIALTRACE_BENCH_HOME``: the dbt build plus
Dagster's own bookkeeping, its event log above all). Answers each with one JSON line on
stdout: wall and CPU seconds of this process for the step, node (or Dagster event)
count, slowest nodes, peak RSS so far.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(BENCH_DIR.parent))

from orchestration.dbt_inprocess import (  # noqa: E402
    InvocationOutcome,
    parsed_manifest,
    stream_dbt,
)

TRANSFORMS_DIR = BENCH_DIR.parent / "transforms"
ENV_KEYS = ("SERIALTRACE_RAW_DIR", "SERIALTRACE_WAREHOUSE", "SERIALTRACE_DUCKDB_MEMORY")
_DEFINITIONS: list[Any] = []


def _dagster_run(answer: dict[str, object]) -> None:
    """One run of warehouse_batch_job through Dagster (the definitions built once)."""
    from collections import Counter

    from orchestration.definitions import build_definitions
    from orchestration.run import QUIET, dagster_instance
    from orchestration.warehouse_batch import WAREHOUSE_BATCH_JOB
    from serialtrace.settings import Home

    home = Home(Path(os.environ["SERIALTRACE_BENCH_HOME"]))
    if not _DEFINITIONS:
        started = time.perf_counter()
        _DEFINITIONS.append(build_definitions(home))
        answer["definitions_s"] = round(time.perf_counter() - started, 1)
    started, cpu = time.perf_counter(), _cpu()
    with dagster_instance(home) as instance:
        result = (
            _DEFINITIONS[0]
            .resolve_job_def(WAREHOUSE_BATCH_JOB)
            .execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET)
        )
    answer["run_s"] = round(time.perf_counter() - started, 1)  # the run alone
    answer["run_cpu_s"] = round(_cpu() - cpu, 1)
    if not result.success:
        answer["failed"] = [f"{WAREHOUSE_BATCH_JOB} run failed"]
    answer["events"] = len(result.all_events)
    kinds = Counter(event.event_type_value for event in result.all_events)
    answer["event_kinds"] = dict(kinds.most_common(4))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    env = {key: os.environ[key] for key in ENV_KEYS if key in os.environ}
    for line in sys.stdin:
        command = line.strip()
        started, cpu = time.perf_counter(), _cpu()
        answer: dict[str, object] = {"command": command}
        if command == "parse":
            parsed_manifest(TRANSFORMS_DIR, TRANSFORMS_DIR, env)
        elif command in ("build", "build-all"):
            # build: the data-triggered selection; build-all: the whole project (every
            # model, data test and unit test), both with the parsed project of this process
            selection = ["--selector", "new_line_data"] if command == "build" else []
            outcome = InvocationOutcome()
            for _ in stream_dbt(
                ["build", *selection],
                project_dir=TRANSFORMS_DIR,
                profiles_dir=TRANSFORMS_DIR,
                env=env,
                outcome=outcome,
            ):
                pass
            if not outcome.success:
                answer["failed"] = outcome.failed() or [str(outcome.exception)]
            slowest = sorted(outcome.results, key=lambda r: -r.execution_time)[:5]
            answer["nodes"] = len(outcome.results)
            answer["slowest"] = {r.node.name: round(r.execution_time, 1) for r in slowest}
        elif command == "dagster":
            _dagster_run(answer)
        else:
            answer["failed"] = [f"unknown command {command!r}"]
        answer["seconds"] = round(time.perf_counter() - started, 1)
        answer["cpu_s"] = round(_cpu() - cpu, 1)
        answer["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
