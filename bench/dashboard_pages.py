"""Benchmark: how long each dashboard page takes to open over a warehouse of N units, in
a real browser (Debian chromium, headless, Playwright) against `serialtrace dashboards`.

    .venv/bin/python bench/dashboard_pages.py --units 10000000     # the target's size
    .venv/bin/python bench/dashboard_pages.py --units 200000       # small
    .venv/bin/python bench/dashboard_pages.py --units 10000000 --keep   # then --home DIR

Target (dashboards issue): a page on ten million units opens in under 2 s.

Steps: the raw zone of bench/warehouse_build.py (generated once, cached in --cache-dir),
built into a warehouse by `dbt build` (or --warehouse: an existing home's warehouse);
`serialtrace dashboards` serves it on loopback; for each page, a fresh browser tab opens
the page --repeat times and the time from navigation to the end of the Streamlit script
run (heading shown, no running-status widget, no exception) is taken; the serial lookup
is timed from pressing Enter on an identifier to its aggregation caption.

The app opens only after a login: the bench adds (or re-passwords) a user
``bench-dashboards`` (auditor: every page, read-only) in the home's user store, with a
random password made for this run. Each repeat opens a fresh tab and logs in (not timed),
then opens each page from the sidebar navigation (timed from the click: what a logged-in
user waits for; a browser reload would show the login form again). The queries
each page runs are also timed alone (no browser) to show where the time goes. Figures
come last as one JSON line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
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
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(BENCH_DIR.parent))

import duckdb  # noqa: E402

from dashboards import data  # noqa: E402
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


def _login(page: Any, password: str) -> None:
    page.get_by_label("User name").wait_for(timeout=120_000)
    page.wait_for_function(DONE, timeout=60_000)
    page.get_by_label("User name").fill(BENCH_USER)
    page.locator('input[aria-label="Password"]').fill(password)
    page.get_by_role("button", name="Log in").click()


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


def _serve(home: Path) -> tuple[subprocess.Popen[bytes], str]:
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


def _query_seconds(warehouse: Path, work_order: str, gtin: str, serial: str) -> dict[str, float]:
    """The page queries alone, without Streamlit or the browser."""
    sql, extra = data.batch_serials_sql(None)
    return {
        "batch_quality": _timed(lambda: data.batch_quality(warehouse)),
        "throughput": _timed(lambda: data.throughput(warehouse, work_order)),
        "status_counts": _timed(lambda: data.batch_status_counts(warehouse, work_order)),
        "serials_page": _timed(lambda: data.page_of(warehouse, sql, [work_order, *extra], 2)),
        "serial_view": _timed(lambda: data.serial_view(warehouse, gtin, serial)),
        "reconciliation": _timed(lambda: data.reconciliation(warehouse)),
    }


def measure(home: Path, repeat: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    warehouse = home / "warehouse.duckdb"
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
    queries = _query_seconds(warehouse, row[0], gtin, serial)

    password = _bench_user(home)
    process, url = _serve(home)
    pages: dict[str, list[float]] = {"batch_quality": [], "serial_lookup": [], "reconciliation": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            warm = browser.new_page()
            warm.goto(url)  # the first script run compiles the pages: not what a user waits for
            _login(warm, password)
            warm.get_by_role("heading", name="Line and batch quality").wait_for(timeout=120_000)
            for title in ("Reconciliation", "Serial lookup"):  # their first runs too
                warm.get_by_role("link", name=title, exact=True).click()
                warm.get_by_role("heading", name=title).first.wait_for(timeout=120_000)
                warm.wait_for_function(DONE, timeout=120_000)
            warm.close()
            for _ in range(repeat):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url, wait_until="domcontentloaded")
                _login(page, password)
                page.get_by_role("heading", name="Line and batch quality").wait_for(timeout=60_000)
                page.wait_for_function(DONE, timeout=60_000)
                for name, title in (
                    ("reconciliation", "Reconciliation"),
                    ("batch_quality", "Line and batch quality"),
                ):
                    started = time.perf_counter()
                    page.get_by_role("link", name=title, exact=True).click()
                    page.get_by_role("heading", name=title).first.wait_for(timeout=60_000)
                    page.wait_for_timeout(50)
                    page.wait_for_function(DONE, timeout=60_000)
                    pages[name].append(time.perf_counter() - started)
                    assert page.locator('[data-testid="stException"]').count() == 0, name
                page.get_by_role("link", name="Serial lookup", exact=True).click()
                box = page.get_by_label("Scan or type an identifier")
                box.wait_for(timeout=60_000)
                page.wait_for_function(DONE, timeout=60_000)
                box.fill(f"https://id.gs1.org/01/{gtin}/21/{serial}")
                started = time.perf_counter()
                box.press("Enter")
                page.get_by_text(f"case {case} holds").wait_for(timeout=60_000)
                page.wait_for_function(DONE, timeout=60_000)
                pages["serial_lookup"].append(time.perf_counter() - started)
                assert page.locator('[data-testid="stException"]').count() == 0, "serial"
                page.close()
            browser.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    worst = max(max(v) for v in pages.values())
    return {
        "serials_in_warehouse": units,
        "page_open_median_s": {k: round(statistics.median(v), 3) for k, v in pages.items()},
        "page_open_max_s": {k: round(max(v), 3) for k, v in pages.items()},
        "query_s": {k: round(v, 3) for k, v in queries.items()},
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
        figures = {
            "benchmark": "dashboard_pages",
            "units": args.units,
            **measure(home, args.repeat),
        }
        figures["load_average"] = [round(x, 2) for x in os.getloadavg()]
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
