"""Child process of bench/warehouse_build.py: the data-triggered build run in process, as
the Dagster dbt assets run it (orchestration/dbt_inprocess.py).

Reads one command per line on stdin: ``parse`` (the project, as a fresh Dagster run
worker does first) or ``build`` (``dbt build --selector new_line_data`` with the parsed
manifest). Answers each with one JSON line on stdout: wall and CPU seconds of this
process for the step, node count, slowest nodes, peak RSS so far.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

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
        elif command == "build":
            outcome = InvocationOutcome()
            for _ in stream_dbt(
                ["build", "--selector", "new_line_data"],
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
        else:
            answer["failed"] = [f"unknown command {command!r}"]
        answer["seconds"] = round(time.perf_counter() - started, 1)
        answer["cpu_s"] = round(_cpu() - cpu, 1)
        answer["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
