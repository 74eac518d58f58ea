"""The dashboards in a real browser: Debian's chromium, headless, driven by Playwright,
against `serialtrace dashboards` served on loopback over the demo's warehouse; every page
is opened by its URL and reached through the login form (tests/dashboards/login.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from serialtrace.demo import DemoResult
from serialtrace.settings import PROJECT_ROOT, Home
from tests.dashboards.login import ADMIN, PASSWORD, ensure_user

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
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
DOCS = PROJECT_ROOT / "docs" / "screenshots"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium (see .ci/run)")
    pytest.skip("Debian chromium is not installed here", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_dashboards(home: Home) -> Iterator[str]:
    """`serialtrace dashboards` on a free loopback port, until the generator is closed."""
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "serialtrace.cli",
            "dashboards",
            "--home",
            str(home.root),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the Streamlit child stops with it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, "the dashboards server exited"
            assert time.monotonic() < deadline, "the dashboards server did not start"
            time.sleep(0.3)
        yield url
    finally:
        # `serialtrace dashboards` runs Streamlit as a child: stop the whole group, or the
        # server outlives the test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a loaded machine: do not let it linger
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


@pytest.fixture(scope="module")
def server(demo: tuple[Home, DemoResult]) -> Iterator[str]:
    ensure_user(demo[0])
    yield from _start_dashboards(demo[0])


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield instance
        instance.close()


def _settle(page: object) -> None:
    """Wait until the Streamlit script run is over, then for charts and grids to draw."""
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )
    page.wait_for_timeout(2000)  # type: ignore[attr-defined]


def _login(page: object, user: str, password: str = PASSWORD) -> None:
    """Fill in and submit the login form the page shows."""
    name = page.get_by_label("User name")  # type: ignore[attr-defined]
    name.wait_for(timeout=60_000)
    _settle(page)
    name.fill(user)
    page.locator('input[aria-label="Password"]').fill(password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]


def _open(browser: object, url: str, heading: str, user: str = ADMIN) -> object:
    """A new tab on ``url``: the login form first, then (logged in as ``user``) the page."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page.goto(url, wait_until="domcontentloaded")
    _login(page, user)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    _settle(page)
    return page


def _shoot(page: object, name: str) -> None:
    """Screenshot to test-artifacts/; also to docs/screenshots/ when
    SERIALTRACE_UPDATE_SCREENSHOTS=1 (so a plain test run leaves the tree clean)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
    if os.environ.get("SERIALTRACE_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / f"{name}.png", DOCS / f"{name}.png")


def _no_error(page: object) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0  # type: ignore[attr-defined]


def test_batch_quality_page(server: str, browser: object, demo: tuple[Home, DemoResult]) -> None:
    home, result = demo
    page = _open(browser, server, "Line and batch quality")
    _no_error(page)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        printed, rejected = con.execute(
            "select printed, rejected from batch_quality where work_order_id = ?",
            [result.work_order_id],
        ).fetchone() or (0, 0)
    metrics = page.locator('[data-testid="stMetric"]')  # type: ignore[attr-defined]
    texts = [metrics.nth(i).inner_text() for i in range(metrics.count())]
    assert any(t.startswith("Printed") and f"{printed:,}" in t for t in texts), texts
    assert any(t.startswith("Rejected") and f"{rejected:,}" in t for t in texts), texts
    assert page.get_by_text("Why were units rejected? (Pareto)").count() == 1  # type: ignore[attr-defined]
    _shoot(page, "batch-quality")


def test_serial_lookup_shows_the_tree(
    server: str, browser: object, demo: tuple[Home, DemoResult]
) -> None:
    home, _ = demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        row = con.execute(
            "select gtin, serial, case_sscc, pallet_sscc from serial_lifecycle "
            "where case_sscc is not null order by serial limit 1"
        ).fetchone()
    assert row is not None
    gtin, serial, case, pallet = row
    page = _open(browser, f"{server}/serial", "Serial lookup")
    box = page.get_by_label("Scan or type an identifier")  # type: ignore[attr-defined]
    box.fill(f"https://id.gs1.org/01/{gtin}/21/{serial}")
    box.press("Enter")
    page.get_by_text(f"case {case} holds").wait_for(timeout=30_000)  # type: ignore[attr-defined]
    _settle(page)
    _no_error(page)
    body = page.inner_text("body")  # type: ignore[attr-defined]
    assert "shipped" in body.lower() and pallet in body, body[:1500]  # the demo ships
    _shoot(page, "serial-lookup")


def test_alerts_page_lists_the_demo_case(
    server: str, browser: object, demo: tuple[Home, DemoResult]
) -> None:
    import sqlite3

    home, _ = demo
    with sqlite3.connect(home.alerts_db) as db:
        cases = [r[0] for r in db.execute("select case_id from alert_case order by case_id")]
    assert cases, "the demo raises one alert"
    page = _open(browser, f"{server}/alerts", "Suspect product alerts")
    _no_error(page)
    # the demo closes its case: the queue shows it once closed cases are asked for
    page.get_by_text("Show closed cases").click()  # type: ignore[attr-defined]
    page.get_by_text("Investigation").first.wait_for(timeout=30_000)  # type: ignore[attr-defined]
    _settle(page)
    _no_error(page)
    body = page.inner_text("body")  # type: ignore[attr-defined]
    assert cases[-1] in body, body[:1500]
    _shoot(page, "alerts")


def test_partners_page_shows_the_acknowledgements(
    server: str, browser: object, demo: tuple[Home, DemoResult]
) -> None:
    home, _ = demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        sent, acknowledged = con.execute(
            "select sum(files_sent), sum(files_acknowledged) from partner_scorecard"
        ).fetchone() or (0, 0)
    assert acknowledged >= 1  # the demo's AS2 partner at least (SFTP needs sshd)
    page = _open(browser, f"{server}/partners", "Trading partners")
    _no_error(page)
    metrics = page.locator('[data-testid="stMetric"]')  # type: ignore[attr-defined]
    texts = [metrics.nth(i).inner_text() for i in range(metrics.count())]
    assert any(t.startswith("Files sent") and t.endswith(f"{sent:,}") for t in texts), texts
    assert any(t.startswith("Acknowledged") and t.endswith(f"{acknowledged:,}") for t in texts)
    _shoot(page, "partners")


def test_verification_portal_answers(
    server: str, browser: object, demo: tuple[Home, DemoResult]
) -> None:
    home, result = demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        row = con.execute(
            "select gtin, serial from serial_lifecycle where work_order_id = ? "
            "and status in ('aggregated', 'shipped') order by serial limit 1",
            [result.work_order_id],
        ).fetchone()
    assert row is not None
    page = _open(browser, f"{server}/verification", "Verification")
    box = page.get_by_label("Scan or type an identifier")  # type: ignore[attr-defined]
    box.fill(f"{row[0]} {row[1]}")
    box.press("Enter")
    page.get_by_text(f"serial {row[1]}").first.wait_for(timeout=30_000)  # type: ignore[attr-defined]
    _settle(page)
    _no_error(page)
    metrics = page.locator('[data-testid="stMetric"]')  # type: ignore[attr-defined]
    texts = [metrics.nth(i).inner_text() for i in range(metrics.count())]
    assert any(t.startswith("Answer") and "verified" in t and "not" not in t for t in texts)
    _shoot(page, "verification")


def test_verification_log_page(server: str, browser: object) -> None:
    page = _open(browser, f"{server}/verification-log", "Verification query log")
    _no_error(page)
    assert "Queries, newest first" in page.inner_text("body")  # type: ignore[attr-defined]
    _shoot(page, "verification-log")


def test_reconciliation_page(server: str, browser: object) -> None:
    page = _open(browser, f"{server}/reconciliation", "Reconciliation")
    _no_error(page)
    assert "Batches that do not reconcile" in page.inner_text("body")  # type: ignore[attr-defined]
    _shoot(page, "reconciliation")
