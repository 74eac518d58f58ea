"""What every page needs: the logged-in user, the session's chosen client data space and
its warehouse, or a clear message (and a stop) when the page may not be shown."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from dashboards import access, auth
from dashboards.cache import page_of
from dashboards.data import PAGE_SIZE
from serialtrace.settings import Home
from serialtrace.users import User


@dataclass(frozen=True)
class PageSession:
    """Who is looking at a page, and the client data space they chose."""

    user: User
    home: Home


def page_session(page_id: str) -> PageSession:
    """The session's user and chosen data space for page ``page_id``: the user must be
    logged in (and still enabled), hold one of the page's roles and may see the chosen
    client. Otherwise the page shows why and stops (a page opened by URL included)."""
    installation = auth.installation()
    user = auth.session_user(installation)
    if user is None:
        st.error("Log in first: open the dashboards' start page.")
        st.stop()
    if not access.may_open(user, page_id):
        st.error(auth.refusal_message(user, access.page(page_id)))
        st.stop()
    home = auth.chosen_space(installation, user)
    if home is None:
        st.error(auth.no_space_message(user))
        st.stop()
    return PageSession(user, home)


def session_home(page_id: str) -> Home:
    """The data space every page reads: the session's chosen client's (see page_session)."""
    return page_session(page_id).home


def home_with_warehouse(page_id: str) -> tuple[Home, Path]:
    """The session's data space and its warehouse (or a message when there is none)."""
    home = session_home(page_id)
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
