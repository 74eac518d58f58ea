"""A filter changes the chart, in a real browser: a home with two batches on two lines
(the demo's batch on LINE-1, then a second batch on LINE-2 through the demo's
batch stages: master data, allocation, line, warehouse), the batch page opened
on the newest batch, then the sidebar's Line filter set to LINE-1."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator

import duckdb
import pytest

from serialtrace.config import load_demo_config
from serialtrace.demo import DemoBatch, DemoResult, demo_batch
from serialtrace.settings import Home
from tests.dashboards.login import ensure_user
from tests.dashboards.test_browser import (  # the browser and server helpers
    _no_error,
    _open,
    _settle,
    _shoot,
    _start_dashboards,
    browser,  # noqa: F401 - a fixture
)


@pytest.fixture(scope="module")
def two_lines(
    demo: tuple[Home, DemoResult], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Home, DemoResult, DemoBatch]:
    source, first = demo
    home = Home(tmp_path_factory.mktemp("two-lines") / "home")
    shutil.copytree(source.root, home.root)
    cfg = load_demo_config()
    line_2 = dataclasses.replace(
        cfg, work_order=dataclasses.replace(cfg.work_order, line_id="LINE-2")
    )
    second = demo_batch(home, line_2, 240, seed=5, say=lambda _: None)
    ensure_user(home)
    return home, first, second


@pytest.fixture(scope="module")
def two_lines_server(two_lines: tuple[Home, DemoResult, DemoBatch]) -> Iterator[str]:
    yield from _start_dashboards(two_lines[0])


def _printed(page: object) -> str:
    metrics = page.locator('[data-testid="stMetric"]')  # type: ignore[attr-defined]
    for i in range(metrics.count()):
        text = metrics.nth(i).inner_text()
        if text.startswith("Printed"):
            return str(text.split()[-1])
    raise AssertionError("no Printed metric")


def test_line_filter_changes_the_charts(
    two_lines_server: str,
    browser: object,  # noqa: F811 - the fixture imported above
    two_lines: tuple[Home, DemoResult, DemoBatch],
) -> None:
    home, first, second = two_lines
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        printed = dict(
            con.execute("select line_id, printed from batch_quality order by line_id").fetchall()
        )
    assert set(printed) == {"LINE-1", "LINE-2"}
    page = _open(browser, two_lines_server, "Line and batch quality")
    _no_error(page)
    assert _printed(page) == f"{printed['LINE-2']:,}"  # the newest batch first
    throughput = page.locator('[data-testid="stVegaLiteChart"]').last  # type: ignore[attr-defined]
    before = throughput.screenshot()

    sidebar = page.locator('[data-testid="stSidebar"]')  # type: ignore[attr-defined]
    sidebar.locator('[data-testid="stMultiSelect"]').first.click()
    page.get_by_role("option", name="LINE-1").click()  # type: ignore[attr-defined]
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    _settle(page)
    _no_error(page)
    assert _printed(page) == f"{printed['LINE-1']:,}"
    body = page.inner_text("body")  # type: ignore[attr-defined]
    assert "Line LINE-1" in body
    after = page.locator('[data-testid="stVegaLiteChart"]').last.screenshot()  # type: ignore[attr-defined]
    assert after != before, "the throughput chart did not change with the filter"
    assert second.work_order_id != first.work_order_id
    _shoot(page, "batch-quality-filtered")


def test_the_lookup_index_serves_a_batch_added_incrementally(
    two_lines: tuple[Home, DemoResult, DemoBatch],
) -> None:
    """The second batch was built by an incremental run over a warehouse that already had
    the index: the index is still there, holds the new batch's serials, and is used."""
    from dashboards.data import SERIAL_LOOKUP_SQL, serial_view

    home, _, second = two_lines
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        names = [r[0] for r in con.execute("select index_name from duckdb_indexes()").fetchall()]
        assert "int_serials_line_status__serial_idx" in names  # under serial_lifecycle
        gtin, serial = con.execute(
            "select gtin, serial from serial_lifecycle where work_order_id = ? "
            "order by serial desc limit 1",
            [second.work_order_id],
        ).fetchone() or ("", "")
        plan = str(con.execute(f"explain analyze {SERIAL_LOOKUP_SQL}", [serial]).fetchall()[0][1])
    assert "Index Scan" in plan, plan
    assert serial_view(home.warehouse, gtin, serial).lifecycle["work_order_id"] == (
        second.work_order_id
    )
