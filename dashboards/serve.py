"""Start the Streamlit server of the dashboards warm: ``python -m dashboards.serve <streamlit
run arguments>`` (what ``serialtrace dashboards`` runs).

Streamlit imports what a page needs on the page's first run: polars, DuckDB, pyarrow,
pandas, altair (and the Vega-Lite schema altair validates a chart against), the alerts
and verification packages. Measured at ten million units, that made the first page open
after the server started take 4.4 s of server time (5.5 s in the browser) against
0.3 s for the next ones. This launcher does that work once, before the server
listens: every module the page scripts import (read from their source, so a new import
in a page is warmed too) and one chart drawn off screen. The page scripts themselves are
not run (they draw on the page).
"""

from __future__ import annotations

import ast
import importlib
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

#: Imported by Streamlit itself only when a page draws a chart or a table.
LIBRARIES = ("duckdb", "polars", "pyarrow", "pandas", "altair", "dashboards.data")
VIEWS = Path(__file__).resolve().parent / "views"


def imported_modules(source: str) -> list[str]:
    """The absolute modules a Python source imports (``import a.b`` → ``a.b``; ``from a
    import b`` → ``a``), in order of first appearance; relative imports are left out."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        names: Iterable[str] = ()
        if isinstance(node, ast.Import):
            names = (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = (node.module,)
        found += [name for name in names if name not in found and name != "__future__"]
    return found


def page_modules(views: Path = VIEWS) -> list[str]:
    """Every module the page scripts in ``views`` import, in a stable order, but the
    dashboards' own Streamlit modules (cheap; they declare ``st.cache_data`` functions,
    which belong to the running server: the first page run imports them)."""
    modules: list[str] = list(LIBRARIES)
    for script in sorted(views.glob("*.py")):
        for name in imported_modules(script.read_text(encoding="utf-8")):
            if name not in modules and not name.startswith("dashboards."):
                modules.append(name)
    return modules


def _draw_a_chart() -> None:
    """What a page's first chart costs on top of the imports: altair loads the Vega-Lite
    schema and builds its validator on the first ``to_dict``."""
    import altair as alt
    import polars as pl

    frame = pl.DataFrame({"x": ["a"], "y": [1]}).to_pandas()  # what the pages hand Streamlit
    alt.Chart(frame).mark_bar().encode(x="x", y="y").to_dict()


def warm(modules: Sequence[str]) -> tuple[int, float, list[str]]:
    """Import ``modules`` and draw one chart off screen: (modules imported, seconds, one
    line per failure). A failure does not stop the server; the page that needs the
    module shows the error as it would without the warm-up."""
    started = time.perf_counter()
    failures: list[str] = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # reported; the page will show it too
            failures.append(f"warm-up: importing {name} failed: {type(exc).__name__}: {exc}")
    try:
        _draw_a_chart()
    except Exception as exc:  # reported; the page will show it too
        failures.append(f"warm-up: drawing a chart failed: {type(exc).__name__}: {exc}")
    return len(modules), time.perf_counter() - started, failures


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    count, seconds, failures = warm(page_modules())
    for line in failures:
        print(line, file=sys.stderr, flush=True)
    print(f"warm-up: {count} modules imported in {seconds:.1f} s", flush=True)
    from streamlit.web import cli

    sys.argv = ["streamlit", *arguments]
    return int(cli.main() or 0)


if __name__ == "__main__":
    raise SystemExit(main())
