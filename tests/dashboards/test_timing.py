"""Page-run timings (dashboards/timing.py) and the warm start of the server
(dashboards/serve.py): what bench/dashboard_pages.py uses to tell where an open's time
goes, and what keeps the first open after a start as fast as the next ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from dashboards import data, serve, timing
from serialtrace.demo import DemoResult
from serialtrace.settings import PROJECT_ROOT, Home


def test_timings_are_off_unless_asked(
    demo: tuple[Home, DemoResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(timing.TIMINGS_ENV, raising=False)
    with data.one_connection_per_run(), timing.page_run("Reconciliation"):
        data.reconciliation(demo[0].warehouse)
    assert list(tmp_path.iterdir()) == []


def test_a_page_run_appends_its_queries(
    demo: tuple[Home, DemoResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "timings.jsonl"
    monkeypatch.setenv(timing.TIMINGS_ENV, str(log))
    home, _ = demo
    for _ in range(2):
        with data.one_connection_per_run(), timing.page_run("Reconciliation", 0.0):
            data.reconciliation(home.warehouse)
            data.verification_totals(home.warehouse)
    # st.stop() or a rerun end a run with an exception: the line is written all the same
    with (
        pytest.raises(RuntimeError, match="stopped"),
        data.one_connection_per_run(),
        timing.page_run("Partners"),
    ):
        data.partner_scorecard(home.warehouse)
        raise RuntimeError("stopped")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["page"] for line in lines] == ["Reconciliation", "Reconciliation", "Partners"]
    first = lines[0]
    labels = [q["query"] for q in first["queries"]]
    assert labels[:2] == ["connect", "select * from erp_reconciliation order by work_order_id desc"]
    assert len(labels) == 4  # connect, reconciliation, the two telemetry queries
    assert all(len(label) <= timing.LABEL_CHARS for label in labels)
    assert first["run_s"] >= sum(q["s"] for q in first["queries"])
    assert first["before_s"] > 0  # measured from the given script start (0.0)
    assert lines[2]["before_s"] == 0 and lines[2]["queries"][0]["query"] == "connect"


def test_query_labels_are_one_short_line() -> None:
    assert timing.query_label("select *\n  from   t\twhere x = ?") == "select * from t where x = ?"
    long = timing.query_label("select " + "a, " * 100 + "b from t")
    assert len(long) == timing.LABEL_CHARS and long.endswith("...")


def test_imports_are_read_from_the_source() -> None:
    source = (
        "from __future__ import annotations\nimport json, os.path\n"
        "from alerts.model import Case\nfrom . import sibling\n"
        "def f():\n    import polars as pl\n"
    )
    assert serve.imported_modules(source) == ["json", "os.path", "alerts.model", "polars"]


def test_the_warm_up_imports_what_every_page_imports() -> None:
    modules = serve.page_modules()
    for script in (PROJECT_ROOT / "dashboards" / "views").glob("*.py"):
        for name in serve.imported_modules(script.read_text(encoding="utf-8")):
            assert name in modules or name.startswith("dashboards."), (script.name, name)
    assert not any(m.startswith("dashboards.") and m != "dashboards.data" for m in modules)
    count, _seconds, failures = serve.warm(modules)
    assert (count, failures) == (len(modules), [])
    assert {"altair", "pandas", "pyarrow", "verification.portal"} <= set(sys.modules)


def test_a_failed_import_is_reported_not_fatal() -> None:
    count, _seconds, failures = serve.warm(["json", "no_such_module_for_the_warm_up"])
    assert count == 2
    assert len(failures) == 1 and "no_such_module_for_the_warm_up" in failures[0]
    assert failures[0].startswith("warm-up: importing no_such_module_for_the_warm_up failed")
