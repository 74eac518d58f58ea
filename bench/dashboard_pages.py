"""Benchmark: how long each dashboard page takes to open over a warehouse of N units, in
a real browser (Debian chromium, headless, Playwright) against `serialtrace dashboards`.

    .venv/bin/python bench/dashboard_pages.py --units 10000000     # the target's size
    .venv/bin/python bench/dashboard_pages.py --units 200000       # small
    .venv/bin/python bench/dashboard_pages.py --units 10000000 --keep   # then --home DIR

Target (dashboards issue #12): a page on ten million units opens in under 2 s.

Steps: the raw zone of bench/warehouse_build.py (generated once, cached in --cache-dir),
built into a warehouse by `dbt build` (or --home: an existing home's warehouse);
`serialtrace dashboards` serves it on loopback with its page-run timings on
(SERIALTRACE_DASHBOARDS_TIMINGS, dashboards/timing.py: one JSON line per script run with
its queries).

The app opens only after a login: the bench adds (or re-passwords) a user
``bench-dashboards`` (auditor: every page of dashboards/access.py, read-only) in the home's
user store, with a random password made for this run. Each repeat opens a fresh tab and
times: the login (click on "Log in" to the start page), then every page of the navigation
from a click on its sidebar link, the serial lookup's answer (Enter on a Digital Link to
its aggregation caption) and the verification portal's answer (Enter to its query
history). An open ends when the page's heading (or answer) is shown, the server has
recorded the end of that page's script run, and the browser shows no running-status
widget; an exception on the page stops the bench. The first tab after the server started
is reported apart (``first_open_after_start_s``); every open, that one included, counts
for the target. Each page's queries are also run alone (no browser, no Streamlit) with
the same functions and a fresh connection per run, split per query. Figures come last as
one JSON line: per page median / p95 / max of the browser's open and of the server's
script time, and whether every open met 2 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(BENCH_DIR.parent))

import duckdb  # noqa: E402

from dashboards import access, data, timing  # noqa: E402
from serialtrace.errors import SerialtraceError  # noqa: E402
from serialtrace.settings import Home  # noqa: E402
from serialtrace.users import UserStore  # noqa: E402

TARGET_S = 2.0
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DONE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
BENCH_USER = "bench-dashboards"


def _bench_user(home: Path) -> str:
    """A fresh random password for the bench's user (added when missing)."""
    import secrets

    password = secrets.token_urlsafe(18)
    users = UserStore(Home(home).installation.users_db)
    try:
        users.get(BENCH_USER)
        users.set_password(BENCH_USER, password, by="bench")
    except SerialtraceError:
        users.add(BENCH_USER, password, full_name="Dashboards benchmark", roles=["auditor"],
                  by="bench")  # fmt: skip
    return password


def _fill_login(page: Any, password: str) -> Callable[[], None]:
    """Fill the login form; returns the click that logs in."""
    page.get_by_label("User name").wait_for(timeout=120_000)
    page.wait_for_function(DONE, timeout=60_000)
    page.get_by_label("User name").fill(BENCH_USER)
    page.locator('input[aria-label="Password"]').fill(password)
    return partial(page.get_by_role("button", name="Log in").click)


@dataclass
class _Series:
    """Opens of each page: browser seconds, the server's script seconds, runs per open."""

    opens: dict[str, list[float]] = field(default_factory=dict)
    server: dict[str, list[float]] = field(default_factory=dict)
    runs: dict[str, list[int]] = field(default_factory=dict)

    def add(self, name: str, took: float, lines: list[dict[str, Any]]) -> None:
        self.opens.setdefault(name, []).append(took)
        script = sum(r["run_s"] + r.get("before_s", 0.0) for r in lines)
        self.server.setdefault(name, []).append(script)
        self.runs.setdefault(name, []).append(len(lines))


def _warehouse_bench() -> Any:
    spec = importlib.util.spec_from_file_location(
        "warehouse_build", BENCH_DIR / "warehouse_build.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(home: Path, timings: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`serialtrace dashboards` on a free loopback port, its page-run timings to ``timings``."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "serialtrace.cli",
            "dashboards",
            "--home",
            str(home),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, timing.TIMINGS_ENV: str(timings)},
        start_new_session=True,
    )  # fmt: skip  (own process group: the Streamlit child stops with it)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return process, url
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise SystemExit("the dashboards server did not start")
        time.sleep(0.3)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _nearest_rank(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.95: p95) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "p95": round(_nearest_rank(values, 0.95), 3),
        "max": round(max(values), 3),
    }


def _page_queries(
    home: Home, work_order: str, gtin: str, serial: str
) -> dict[str, Callable[[], object]]:
    """What each page queries, without Streamlit or the browser (same functions)."""
    from alerts.service import store_for
    from verification.messages import ProductIdentifier
    from verification.portal import portal_answer, query_history

    warehouse = home.warehouse

    def batch_quality() -> None:
        data.batch_quality(warehouse)
        data.throughput(warehouse, work_order)
        data.batch_status_counts(warehouse, work_order)
        sql, extra = data.batch_serials_sql(None)
        data.page_of(warehouse, sql, [work_order, *extra], 2)

    def alerts() -> None:
        if home.alerts_db.exists():
            store = store_for(home)
            store.cases(include_closed=False)
            store.locks.all_active()

    def partners() -> None:
        data.partner_scorecard(warehouse)
        if home.partners_ledger.exists():
            data.latest_deliveries(home.partners_ledger)

    def verification() -> None:
        portal_answer(home, ProductIdentifier(gtin, serial, None, None))
        data.serial_view(warehouse, gtin, serial)
        query_history(home, gtin, serial)

    def verification_log() -> None:
        totals, _ = data.verification_totals(warehouse)
        if totals is not None:
            sql, params = data.verification_log_sql("incoming")
            data.page_of(warehouse, sql, params, 1)

    return {
        "batch_quality": batch_quality,
        "serial_lookup": lambda: data.serial_view(warehouse, gtin, serial),
        "reconciliation": lambda: data.reconciliation(warehouse),
        "alerts": alerts,
        "partners": partners,
        "verification": verification,
        "verification_log": verification_log,
    }


def _read_timings(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The timing lines appended to ``path`` after ``offset`` (whole lines only)."""
    if not path.exists():
        return [], offset
    with path.open("rb") as f:
        f.seek(offset)
        chunk = f.read()
    complete = chunk[: chunk.rfind(b"\n") + 1]
    lines = [json.loads(line) for line in complete.decode().splitlines() if line.strip()]
    return lines, offset + len(complete)


def _queries_alone(
    home: Home, work_order: str, gtin: str, serial: str, rounds: int, log: Path
) -> dict[str, Any]:
    """Each page's queries alone, ``rounds`` times (the first on cold connections and
    caches of the OS), with the per-query split recorded by dashboards.timing."""
    os.environ[timing.TIMINGS_ENV] = str(log)
    offset = 0
    totals: dict[str, list[float]] = {}
    slowest: dict[str, dict[str, float]] = {}
    try:
        for _ in range(rounds):
            for name, run in _page_queries(home, work_order, gtin, serial).items():
                with data.one_connection_per_run(), timing.page_run(name):
                    run()
                lines, offset = _read_timings(log, offset)
                for line in lines:
                    totals.setdefault(line["page"], []).append(line["run_s"])
                    for q in line["queries"]:
                        worst = slowest.setdefault(line["page"], {})
                        worst[q["query"]] = max(worst.get(q["query"], 0.0), q["s"])
    finally:
        os.environ.pop(timing.TIMINGS_ENV, None)
    return {
        "query_s": {k: _summary(v) for k, v in totals.items()},
        "slowest_query_s": {
            page: dict(sorted(w.items(), key=lambda kv: -kv[1])[:3]) for page, w in slowest.items()
        },
    }


#: A page's heading is its navigation title; the lookups also wait for their answer.
TITLES = {spec.page_id: spec.title for spec in access.PAGES}


def measure(home: Path, repeat: int, query_rounds: int = 3) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    space = Home(home)
    warehouse = space.warehouse
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (units,) = con.execute("select count(*) from serial_lifecycle").fetchall()[0]
        row = con.execute(
            "select work_order_id from batch_quality order by first_print_at desc nulls last "
            "limit 1"
        ).fetchall()[0]
        gtin, serial, case = con.execute(
            "select gtin, serial, case_sscc from serial_lifecycle where work_order_id = ? "
            "and case_sscc is not null limit 1",
            [row[0]],
        ).fetchall()[0]
    scratch = Path(tempfile.mkdtemp(prefix="dashboard-pages-"))
    alone = _queries_alone(space, row[0], gtin, serial, query_rounds, scratch / "alone.jsonl")

    password = _bench_user(home)
    log = scratch / "server.jsonl"
    process, url = _serve(home, log)
    warm, cold = _Series(), _Series()
    offset = 0

    def timed_open(page: Any, name: str, action: Callable[[], None], done: Callable[[], None],
                   title: str, into: _Series) -> None:  # fmt: skip
        """Click (or press), wait for the page's answer and its server run to end."""
        nonlocal offset
        _, offset = _read_timings(log, offset)  # runs before the click are not this open's
        started = time.perf_counter()
        action()
        done()
        runs: list[dict[str, Any]] = []
        while not any(r["page"] == title for r in runs):
            more, offset = _read_timings(log, offset)
            runs += more
            if not more:
                time.sleep(0.005)
            if time.perf_counter() - started > 60:
                raise SystemExit(f"{name}: no server run of {title!r} recorded in 60 s")
        page.wait_for_function(DONE, timeout=60_000)
        took = time.perf_counter() - started
        if page.locator('[data-testid="stException"]').count():
            raise SystemExit(f"{name}: the page shows an exception")
        into.add(name, took, runs)

    def log_in(page: Any, into: _Series) -> None:
        """A fresh tab: the login form, then the start page (timed from the click)."""
        page.goto(url, wait_until="domcontentloaded")
        title = TITLES["batch_quality"]
        heading = page.get_by_role("heading", name=title, exact=True).first
        timed_open(page, "login_to_start_page", _fill_login(page, password),
                   partial(heading.wait_for, timeout=120_000), title, into)  # fmt: skip

    def open_all(page: Any, into: _Series) -> None:
        # the start page (batch quality) is open after the login: it is clicked last
        for spec in (*access.PAGES[1:], access.PAGES[0]):
            title = spec.title
            heading = page.get_by_role("heading", name=title, exact=True).first
            timed_open(
                page, spec.page_id,
                partial(page.get_by_role("link", name=title, exact=True).click),
                partial(heading.wait_for, timeout=120_000),
                title, into,
            )  # fmt: skip
            if spec.page_id == "serial_lookup":
                box = page.get_by_label("Scan or type an identifier")
                box.fill(f"https://id.gs1.org/01/{gtin}/21/{serial}")
                timed_open(
                    page, "serial_lookup_answer", partial(box.press, "Enter"),
                    partial(page.get_by_text(f"case {case} holds").wait_for, timeout=120_000),
                    title, into,
                )  # fmt: skip
            if spec.page_id == "verification":
                box = page.get_by_label("Scan or type an identifier")
                box.fill(f"{gtin} {serial}")
                timed_open(
                    page, "verification_answer", partial(box.press, "Enter"),
                    partial(
                        page.get_by_text("queries logged for this serial").wait_for,
                        timeout=120_000,
                    ),
                    title, into,
                )  # fmt: skip

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            # the first open of each page after the server started: reported apart
            first = browser.new_page(viewport={"width": 1400, "height": 1000})
            log_in(first, cold)
            open_all(first, cold)
            first.close()
            for _ in range(repeat):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                log_in(page, warm)
                open_all(page, warm)
                page.close()
            browser.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)
    every = {k: v + cold.opens[k] for k, v in warm.opens.items()}
    worst = max(max(v) for v in every.values())
    return {
        "serials_in_warehouse": units,
        "opens_per_page": repeat,
        "page_open_s": {k: _summary(v) for k, v in warm.opens.items()},
        "server_script_s": {k: _summary(v) for k, v in warm.server.items()},
        "runs_per_open_max": {k: max(v) for k, v in warm.runs.items()},
        "first_open_after_start_s": {k: round(v[0], 3) for k, v in cold.opens.items()},
        "first_open_server_script_s": {k: round(v[0], 3) for k, v in cold.server.items()},
        **alone,
        "pages_over_target": sorted(k for k, v in every.items() if max(v) >= TARGET_S),
        "worst_page_s": round(worst, 3),
        "target_s": TARGET_S,
        "target_met": worst < TARGET_S,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=10_000_000, help="units in the warehouse")
    parser.add_argument("--repeat", type=int, default=5, help="opens of each page")
    parser.add_argument(
        "--query-rounds", type=int, default=3, help="runs of each page's queries alone"
    )
    parser.add_argument(
        "--home", type=Path, default=None, help="measure an existing home's warehouse instead"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "serialtrace-bench",
        help="where generated raw zones are kept between runs (shared with warehouse_build)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the warehouse built (its home is printed) to measure it again with --home",
    )
    args = parser.parse_args(argv)
    build: dict[str, Any] = {}
    work: Path | None = None
    if args.home is not None:
        home = args.home
    else:
        bench = _warehouse_bench()
        batches = max(1, round(args.units / 100_000))
        args.cache_dir.mkdir(parents=True, exist_ok=True)
        raw, _ = bench.prepare_zone(args.cache_dir, args.units, batches)
        work = Path(tempfile.mkdtemp(prefix="dashboards-", dir=args.cache_dir))
        home = work / "home"
        home.mkdir()
        build = bench.dbt_build(raw, home / "warehouse.duckdb", work)
        print(f"warehouse built: {build}", flush=True)
    try:
        load_start = [round(x, 2) for x in os.getloadavg()]
        figures = {
            "benchmark": "dashboard_pages",
            "units": args.units,
            "load_average_start": load_start,
            **measure(home, args.repeat, args.query_rounds),
        }
        figures["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
        if build:
            figures["warehouse_build_s"] = build["seconds"]
    finally:
        if work is not None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        elif work is not None:
            print(f"warehouse kept: measure again with --home {home}", flush=True)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
