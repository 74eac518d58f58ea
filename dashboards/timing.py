"""Where a page run's time goes: the whole script run and each warehouse query in it.

Off unless ``SERIALTRACE_DASHBOARDS_TIMINGS`` names a file: then every page run appends
one JSON line to it (``bench/dashboard_pages.py`` sets it to tell the server's share of
an open from the browser's). A line::

    {"page": "Reconciliation", "run_s": 0.41, "before_s": 0.02,
     "queries": [{"query": "connect", "s": 0.04},
                 {"query": "select * from erp_reconciliation ...", "s": 0.21}],
     "at": "2026-...Z"}

A query served from the dashboards' cache (dashboards/cache.py) runs no SQL, so it is
not in ``queries``. The pure part (:func:`query_label`, :class:`RunTimings`) does no I/O.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMINGS_ENV = "SERIALTRACE_DASHBOARDS_TIMINGS"
#: Characters of a query's SQL kept as its label.
LABEL_CHARS = 90

_WRITE = threading.Lock()  # the app serves several sessions, one thread each


def query_label(sql: str) -> str:
    """A query's SQL on one line (whitespace collapsed), cut to LABEL_CHARS characters."""
    text = " ".join(sql.split())
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 3] + "..."


@dataclass
class RunTimings:
    """The timings of one page run."""

    page: str
    #: seconds the script spent before the page ran (login check, sidebar, navigation)
    before_s: float = 0.0
    queries: list[tuple[str, float]] = field(default_factory=list)

    def record(self, label: str, seconds: float) -> None:
        self.queries.append((label, seconds))

    def line(self, run_s: float, at: dt.datetime) -> dict[str, Any]:
        return {
            "page": self.page,
            "run_s": round(run_s, 4),
            "before_s": round(self.before_s, 4),
            "queries": [{"query": q, "s": round(s, 4)} for q, s in self.queries],
            "at": at.isoformat().replace("+00:00", "Z"),
        }


_CURRENT: ContextVar[RunTimings | None] = ContextVar("dashboards_run_timings", default=None)


def target() -> Path | None:
    """The file timings go to (None: timings are off)."""
    value = os.environ.get(TIMINGS_ENV, "").strip()
    return Path(value) if value else None


@contextmanager
def page_run(page: str, script_started: float | None = None) -> Iterator[None]:
    """Time the block (one page script run) and the queries made in it; append the line
    when the block ends, also through ``st.stop()`` or a rerun. ``script_started`` (a
    ``time.perf_counter()`` taken when the app script began) adds what ran before."""
    path = target()
    if path is None or _CURRENT.get() is not None:
        yield
        return
    started = time.perf_counter()
    record = RunTimings(page, before_s=0.0 if script_started is None else started - script_started)
    token = _CURRENT.set(record)
    try:
        yield
    finally:
        run_s = time.perf_counter() - started
        _CURRENT.reset(token)
        text = json.dumps(record.line(run_s, dt.datetime.now(dt.UTC))) + "\n"
        with _WRITE, path.open("a", encoding="utf-8") as out:
            out.write(text)


@contextmanager
def query(label: str) -> Iterator[None]:
    """Time one query (or connection open) of the current page run, when timings are on."""
    record = _CURRENT.get()
    if record is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        record.record(label, time.perf_counter() - started)
