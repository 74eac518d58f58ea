"""What every page needs: the home's warehouse, or a clear message when there is none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from dashboards.cache import page_of
from dashboards.data import PAGE_SIZE
from serialtrace.settings import Home, resolve_home


def home_with_warehouse() -> tuple[Home, Path]:
    home = resolve_home()
    if not home.warehouse.exists():
        st.error(f"No warehouse at {home.warehouse}. Run `serialtrace demo` first.")
        st.stop()
    return home, home.warehouse


def paged_table(
    warehouse: Path, sql: str, params: list[Any], *, key: str, size: int = PAGE_SIZE
) -> int:
    """A table that pages in SQL: a page number input, the rows, and "rows a–b of N".
    Returns the total row count. ``sql`` reads the warehouse alone: its pages are cached
    until the warehouse changes."""
    number = int(st.number_input("Page", min_value=1, value=1, step=1, key=f"{key}-page"))
    page = page_of(warehouse, sql, params, number, size)
    st.dataframe(page.rows.to_pandas(), hide_index=True)
    st.caption(
        f"Rows {page.first_row:,}–{page.last_row:,} of {page.total:,} "
        f"(page {page.number:,} of {page.pages:,})"
    )
    return page.total
