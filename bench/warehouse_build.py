"""Benchmark: full `dbt build` of the warehouse over N units, then an incremental build
after one more batch, against a plain DuckDB scan of the same raw Parquet.

    .venv/bin/python bench/warehouse_build.py --units 10000000      # default
    .venv/bin/python bench/warehouse_build.py --units 200000        # small

Targets (warehouse issue, 2-core machine): full build (models + data tests + unit tests)
over 10 million units <= 120 s and <= 6 GB peak memory; the incremental build after one
new batch of 100,000 units <= 10 s: the data-triggered build the product runs for a new
batch (below), first in its process and warm. The whole-project `dbt build` after a
batch is timed too, and reported beside it.

    --only-full                 time the full build alone (profiling)
    --node-timings FILE         every node of the full build (thread, start, end, time), TSV
    --dagster-runs N            then N more batches, each built by a run of the Dagster job
                                the sensors start (warehouse_batch_job, in the same warm
                                process): dbt's build plus Dagster's own cost (reported,
                                not held to the target; default 2, 0 to skip)

Steps: generate the raw zone with bench/generate_rawzone.py (cached in --cache-dir and
reused; files a previous run added are removed first), `dbt build` into a fresh
warehouse (timed, peak RSS of the dbt process from wait4), append one batch of
--increment units, `dbt build` again (incremental, same target folder so dbt parses
partially), then the data-triggered run as the Dagster dbt assets do it: in a Python
process of its own that runs dbt in process (orchestration/dbt_inprocess.py, child
bench/_inprocess_build.py) `dbt build --selector new_line_data` (transforms/selectors.yml:
the models that depend on line data, the models they read, the data tests of the
former; no unit tests, which test SQL logic on fixed inputs, not the data, and are left
to the full build and CI): the process parses the project (timed apart, what a fresh
Dagster run worker pays first), a second batch arrives and is built, a third arrives and
is built by the same warm process, a fourth is built by the same process with the whole
project (`dbt build`: every model, data test and unit test; whole_project_warm_*); then
(--dagster-runs) more batches, each built by a run of the Dagster job the sensors start. Then time
`select count(*), count(distinct serial)` over the raw print and inspect Parquet in
DuckDB with the same settings. A fixed pure-Python loop (python_probe_s) at the start,
before the data-triggered steps and at the end tells how fast the cores run at the
time. The machine's load average (1 min) is recorded before
and after each step: on a shared machine the figures are only comparable under a
similar load. The figures come last as one JSON line.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(BENCH_DIR.parent))

import duckdb  # noqa: E402

PROJECT_ROOT = BENCH_DIR.parent
TRANSFORMS_DIR = PROJECT_ROOT / "transforms"
BASE_FILES = ".base-files.txt"
MEMORY_LIMIT = "4GB"
DAGSTER_FIGURES = (
    "run_s", "run_cpu_s", "events", "batches_rebuilt", "definitions_s", "load_before", "load_after",
)  # fmt: skip


@functools.cache
def _generator() -> Any:
    """bench/generate_rawzone.py, loaded by path once (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "generate_rawzone", BENCH_DIR / "generate_rawzone.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _contracts_tag() -> str:
    """A short hash of the raw-zone contracts: a cached zone written under older schemas
    (a column added since) is never reused."""
    import hashlib

    from ingest.schemas import ALLOCATION_SCHEMA, MASTERDATA_TABLES
    from line_bridge.schemas import STREAMS
    from serialtrace.lifecycle.schema import LIFECYCLE_TABLES

    tables = {**MASTERDATA_TABLES, **STREAMS, **LIFECYCLE_TABLES, "allocations": ALLOCATION_SCHEMA}
    text = "\n".join(f"{name}:{schema}" for name, schema in sorted(tables.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def prepare_zone(cache: Path, units: int, batches: int) -> tuple[Path, float | None]:
    """The cached raw zone for (units, batches), generated if missing; files added by an
    earlier run (its extra batch) are removed. Returns the zone and the generation time."""
    zone = cache / f"rawzone-{units}-{batches}-{_contracts_tag()}"
    listing = zone / BASE_FILES
    seconds = None
    if not listing.exists():
        shutil.rmtree(zone, ignore_errors=True)
        started = time.perf_counter()
        _generator().generate(zone, units, batches)
        seconds = time.perf_counter() - started
        files = sorted(str(p.relative_to(zone)) for p in zone.rglob("*.parquet"))
        listing.write_text("\n".join(files) + "\n")
    base = set(listing.read_text().split())
    for path in zone.rglob("*.parquet"):
        if str(path.relative_to(zone)) not in base:
            path.unlink()
    return zone, seconds


def python_probe() -> float:
    """Seconds for a fixed pure-Python loop (10 M additions): how fast this machine is
    running right now. The cores' speed varies (a shared host): the same build has taken
    30-40 % more CPU seconds when this probe was slower, so the figures are comparable
    only together with it."""
    started = time.perf_counter()
    total = 0
    for value in range(10_000_000):
        total += value
    return round(time.perf_counter() - started, 2)


def load_average() -> float:
    """The 1-minute load average of the machine."""
    return round(os.getloadavg()[0], 2)


def dbt_build(
    raw: Path, warehouse: Path, work: Path, *flags: str, timings: Path | None = None
) -> dict[str, Any]:
    """`dbt build` in a child process: wall time, dbt's own elapsed time, peak RSS, the
    load average before and after."""
    dbt = Path(sys.executable).parent / "dbt"
    env = {
        **os.environ,
        "SERIALTRACE_RAW_DIR": str(raw.resolve()),
        "SERIALTRACE_WAREHOUSE": str(warehouse.resolve()),
        "SERIALTRACE_DUCKDB_MEMORY": MEMORY_LIMIT,
    }
    command = [
        str(dbt), "build", "--project-dir", str(TRANSFORMS_DIR), "--profiles-dir",
        str(TRANSFORMS_DIR), "--target-path", str(work / "target"), "--log-path",
        str(work / "logs"), "--no-use-colors", *flags,
    ]  # fmt: skip
    log = work / "dbt-build.log"
    load_before = load_average()
    started = time.perf_counter()
    with log.open("a") as out:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    run_results = work / "target" / "run_results.json"
    if not run_results.exists():
        tail = log.read_text()[-2000:]
        raise SystemExit(f"dbt build wrote no run_results.json (exit {code}):\n{tail}")
    results = json.loads(run_results.read_text())
    nodes = results["results"]
    if timings is not None:
        write_node_timings(nodes, timings)
    if code != 0:
        failed = [r["unique_id"] for r in nodes if r["status"] in ("error", "fail")]
        raise SystemExit(f"dbt build failed ({code}), see {log}: {failed}")
    slowest = sorted(nodes, key=lambda r: -r["execution_time"])[:5]
    return {
        "load_before": load_before,
        "load_after": load_average(),
        "seconds": round(seconds, 1),
        # CPU time of dbt and DuckDB (all threads): the work done, much less sensitive
        # than wall time to other processes sharing the cores
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "dbt_elapsed_s": round(results["elapsed_time"], 1),
        "nodes": len(nodes),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # Linux: KiB
        "slowest": {r["unique_id"].split(".")[2]: round(r["execution_time"], 1) for r in slowest},
    }


def write_node_timings(nodes: list[dict[str, Any]], path: Path) -> None:
    """Every node of a build as one TSV row: name, thread, start and end (seconds from the
    build's first node), execution time; longest first."""
    from datetime import datetime

    def span(node: dict[str, Any]) -> tuple[float, float]:
        timing = [t for t in node.get("timing", []) if t.get("started_at")]
        if not timing:
            return 0.0, 0.0
        start = datetime.fromisoformat(timing[0]["started_at"].rstrip("Z")).timestamp()
        end = datetime.fromisoformat(timing[-1]["completed_at"].rstrip("Z")).timestamp()
        return start, end

    spans = {n["unique_id"]: span(n) for n in nodes}
    origin = min((s for s, _ in spans.values() if s), default=0.0)
    rows = sorted(nodes, key=lambda n: -n["execution_time"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        out.write("node\tthread\tstart_s\tend_s\texecution_s\n")
        for node in rows:
            start, end = spans[node["unique_id"]]
            out.write(
                f"{node['unique_id'].split('.', 2)[2]}\t{node.get('thread_id', '')}\t"
                f"{start - origin:.1f}\t{end - origin:.1f}\t{node['execution_time']:.2f}\n"
            )


class InProcessBuilds:
    """bench/_inprocess_build.py as a child process, asked one step at a time."""

    def __init__(self, raw: Path, warehouse: Path) -> None:
        # the Dagster step's home: <work>/warehouse.duckdb is its warehouse, <work>/raw a
        # link to the raw zone, <work>/dagster its instance
        home = warehouse.parent
        if not (home / "raw").exists():
            (home / "raw").symlink_to(raw.resolve(), target_is_directory=True)
        self.env = {
            **os.environ,
            "SERIALTRACE_RAW_DIR": str(raw.resolve()),
            "SERIALTRACE_WAREHOUSE": str(warehouse.resolve()),
            "SERIALTRACE_DUCKDB_MEMORY": MEMORY_LIMIT,
            "SERIALTRACE_BENCH_HOME": str(home.resolve()),
        }
        self.child: subprocess.Popen[str] | None = None

    def __enter__(self) -> InProcessBuilds:
        self.child = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "_inprocess_build.py")],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return self

    def ask(self, command: str) -> dict[str, Any]:
        """Run one step in the child; its figures with the load before and after."""
        assert self.child is not None and self.child.stdin and self.child.stdout
        load_before = load_average()
        self.child.stdin.write(command + "\n")
        self.child.stdin.flush()
        line = self.child.stdout.readline()
        if not line:
            raise SystemExit(f"in-process dbt child died during {command!r}")
        answer: dict[str, Any] = json.loads(line)
        if answer.get("failed"):
            raise SystemExit(f"in-process {command} failed: {answer['failed']}")
        return {**answer, "load_before": load_before, "load_after": load_average()}

    def __exit__(self, *_: object) -> None:
        if self.child is not None:
            if self.child.stdin:
                self.child.stdin.close()
            self.child.wait(timeout=60)


def _changed_batches(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (changed,) = con.execute(
            "select count(*) from int_batch_fingerprints where is_changed"
        ).fetchall()[0]
    return int(changed)


def plain_scan(raw: Path) -> float:
    """Seconds for one pass over the raw print and inspect Parquet, same DuckDB settings."""
    with duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": 2}) as con:
        started = time.perf_counter()
        con.execute(
            f"""
            select
                (select count(*) from read_parquet('{raw}/line/print/*/*.parquet')),
                (select count(distinct serial) from read_parquet('{raw}/line/print/*/*.parquet')),
                (select count(*) from read_parquet('{raw}/line/inspect/*/*.parquet')),
                (select count(distinct expected_serial)
                 from read_parquet('{raw}/line/inspect/*/*.parquet'))
            """
        ).fetchall()
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=10_000_000, help="units in the raw zone")
    parser.add_argument("--batches", type=int, default=None, help="default: units / 100,000")
    parser.add_argument("--increment", type=int, default=100_000, help="units of the new batch")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "serialtrace-bench",
        help="where generated raw zones are kept between runs",
    )
    parser.add_argument(
        "--only-full",
        action="store_true",
        help="time the full build alone (profiling; no incremental or data-triggered step)",
    )
    parser.add_argument(
        "--node-timings",
        type=Path,
        default=None,
        help="write every node's thread, start, end and time of the full build (TSV) here",
    )
    parser.add_argument(
        "--dagster-runs",
        type=int,
        default=2,
        help="batches built by a Dagster run of warehouse_batch_job after the dbt steps",
    )
    args = parser.parse_args(argv)
    batches = args.batches or max(1, round(args.units / 100_000))
    # the run adds 4 batches (incremental, two data-triggered, whole project) and one per
    # Dagster run after the zone's own: check before a full build is spent on it
    extra = 4 + max(0, args.dagster_runs)
    limit = _generator().MAX_BATCHES
    if batches + extra > limit:
        parser.error(
            f"--batches {batches} leaves no room for the {extra} batches the run adds "
            f"(the generator numbers at most {limit}): use --batches {limit - extra} or fewer"
        )
    args.cache_dir.mkdir(parents=True, exist_ok=True)

    raw, generated_s = prepare_zone(args.cache_dir, args.units, batches)
    probes = [python_probe()]
    work = Path(tempfile.mkdtemp(prefix="warehouse-build-", dir=args.cache_dir))
    try:
        warehouse = work / "warehouse.duckdb"
        full = dbt_build(raw, warehouse, work, timings=args.node_timings)
        print(f"full build: {full}", flush=True)
        if args.only_full:
            print(json.dumps({"benchmark": "warehouse_build", "units": args.units,
                              "only": "full_build", "full_build": full}))  # fmt: skip
            return 0
        started = time.perf_counter()
        _generator().generate(raw, args.increment, 1, first_batch=batches)
        increment_generated_s = time.perf_counter() - started
        incremental = dbt_build(raw, warehouse, work)
        print(f"incremental build: {incremental}", flush=True)
        changed = _changed_batches(warehouse)
        probes.append(python_probe())
        with InProcessBuilds(raw, warehouse) as inprocess:
            parse = inprocess.ask("parse")
            print(f"in-process parse: {parse}", flush=True)
            _generator().generate(raw, args.increment, 1, first_batch=batches + 1)
            data_only = inprocess.ask("build")
            print(f"data-triggered build, first in its process: {data_only}", flush=True)
            data_only_changed = _changed_batches(warehouse)
            _generator().generate(raw, args.increment, 1, first_batch=batches + 2)
            warm = inprocess.ask("build")
            print(f"data-triggered build, warm process: {warm}", flush=True)
            warm_changed = _changed_batches(warehouse)
            _generator().generate(raw, args.increment, 1, first_batch=batches + 3)
            whole = inprocess.ask("build-all")
            print(f"whole-project build, warm process: {whole}", flush=True)
            whole_changed = _changed_batches(warehouse)
            dagster_runs = []
            for k in range(args.dagster_runs):
                _generator().generate(raw, args.increment, 1, first_batch=batches + 4 + k)
                run = inprocess.ask("dagster")
                run["batches_rebuilt"] = _changed_batches(warehouse)
                print(f"Dagster run of warehouse_batch_job: {run}", flush=True)
                dagster_runs.append(run)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            (serials,) = con.execute("select count(*) from serial_lifecycle").fetchall()[0]
        warehouse_mb = round(warehouse.stat().st_size / 2**20)
        prepare_zone(args.cache_dir, args.units, batches)  # drop the extra batches again
        scan_load = load_average()
        scan_s = plain_scan(raw)
        probes.append(python_probe())
    finally:
        shutil.rmtree(work, ignore_errors=True)

    figures = {
        "benchmark": "warehouse_build",
        "units": args.units,
        "batches": batches,
        "generate_s": None if generated_s is None else round(generated_s, 1),
        "full_build_s": full["seconds"],
        "full_build_load": [full["load_before"], full["load_after"]],
        "full_build_cpu_s": full["cpu_s"],
        "full_build_dbt_elapsed_s": full["dbt_elapsed_s"],
        "full_build_peak_rss_mb": full["peak_rss_mb"],
        "full_build_nodes": full["nodes"],
        "full_build_slowest_s": full["slowest"],
        "increment_units": args.increment,
        "increment_generate_s": round(increment_generated_s, 1),
        "incremental_build_s": incremental["seconds"],
        "incremental_build_nodes": incremental["nodes"],
        "incremental_build_load": [incremental["load_before"], incremental["load_after"]],
        "incremental_build_cpu_s": incremental["cpu_s"],
        "incremental_build_dbt_elapsed_s": incremental["dbt_elapsed_s"],
        "incremental_peak_rss_mb": incremental["peak_rss_mb"],
        "incremental_batches_rebuilt": changed,
        "incremental_slowest_s": incremental["slowest"],
        "data_triggered_mode": "in process (dbtRunner, parsed manifest reused)",
        "data_triggered_parse_s": parse["seconds"],
        "data_triggered_parse_cpu_s": parse["cpu_s"],
        "data_triggered_s": data_only["seconds"],
        "data_triggered_cpu_s": data_only["cpu_s"],
        "data_triggered_load": [data_only["load_before"], data_only["load_after"]],
        "data_triggered_nodes": data_only["nodes"],
        "data_triggered_peak_rss_mb": data_only["peak_rss_mb"],
        "data_triggered_batches_rebuilt": data_only_changed,
        "data_triggered_slowest_s": data_only["slowest"],
        "data_triggered_warm_s": warm["seconds"],
        "data_triggered_warm_cpu_s": warm["cpu_s"],
        "data_triggered_warm_load": [warm["load_before"], warm["load_after"]],
        "data_triggered_warm_batches_rebuilt": warm_changed,
        "data_triggered_warm_slowest_s": warm["slowest"],
        "whole_project_warm_s": whole["seconds"],
        "whole_project_warm_cpu_s": whole["cpu_s"],
        "whole_project_warm_load": [whole["load_before"], whole["load_after"]],
        "whole_project_warm_nodes": whole["nodes"],
        "whole_project_warm_batches_rebuilt": whole_changed,
        "whole_project_warm_slowest_s": whole["slowest"],
        # the same build as the Dagster run the sensors start: dbt plus Dagster's own
        # bookkeeping (event log, data versions); reported beside, not held to the 10 s
        "dagster_batch_runs": [
            {key: run.get(key) for key in DAGSTER_FIGURES} for run in dagster_runs
        ],
        "serials_in_warehouse": serials,
        "warehouse_mb": warehouse_mb,
        "plain_scan_s": round(scan_s, 2),
        "plain_scan_load": scan_load,
        # the machine's speed at the start, before the data-triggered steps, at the end
        "python_probe_s": probes,
        "full_build_vs_scan": round(full["seconds"] / scan_s, 1),
        "targets": {"full_build_s": 120, "peak_rss_mb": 6144, "incremental_build_s": 10},
        # the incremental run after one new batch is the data-triggered build the
        # product runs (the sensors' warehouse_batch_job: dbt in process, the
        # new_line_data selection), first in its process and warm; the whole-project
        # `dbt build` in a child process above (every node, the unit tests, dbt's
        # start-up and parse) is reported beside it, not held to the 10 s
        "target_met": full["seconds"] <= 120
        and full["peak_rss_mb"] <= 6144
        and data_only["seconds"] <= 10
        and warm["seconds"] <= 10,
        "data_triggered_target_met": data_only["seconds"] <= 10,
        "data_triggered_warm_target_met": warm["seconds"] <= 10,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
