"""Serialtrace dashboards (Streamlit, multi-page). Served by ``serialtrace dashboards``.

The app serves the installation named by SERIALTRACE_HOME. Nobody sees a page without
logging in (dashboards/auth.py); the navigation holds only the pages the user's roles
allow (dashboards/access.py), and every page reads the warehouse of the client data space
chosen in the sidebar among those the user may see — read-only. Each page re-checks all
of this itself (dashboards/common.py).

Every page's URL always exists, so a link opened before logging in shows the login form
and then the page, and a page the user's roles do not allow shows why (a hidden page
with the refusal, never the page's script) instead of a "page not found" box.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from dashboards import access, auth, timing
from dashboards.data import one_connection_per_run
from serialtrace.settings import PROJECT_ROOT

VIEWS = PROJECT_ROOT / "dashboards" / "views"


def _at_every_url(title: str, show: Callable[[], None]) -> list[st.Page]:
    """One hidden page per dashboard URL, each showing ``show`` (the start URL first)."""
    return [
        st.Page(show, title=title, url_path=spec.url_path, default=i == 0, visibility="hidden")
        for i, spec in enumerate(access.PAGES)
    ]


script_started = time.perf_counter()  # page-run timings (dashboards/timing.py)
st.set_page_config(page_title="Serialtrace", layout="wide")
installation = auth.installation()
user = auth.session_user(installation)
if user is None:
    st.navigation(_at_every_url("Log in", auth.login_page), position="hidden").run()
    st.stop()

auth.sidebar_user(user)
space = auth.client_picker(installation, user)
allowed = access.pages_for(user)
if space is None or not allowed:
    text = auth.no_space_message(user) if space is None else f"{user.name} holds no role."
    shown = auth.message_page("Serialtrace", text)
    st.navigation(_at_every_url("Serialtrace", shown), position="hidden").run()
    st.stop()

pages: list[st.Page] = []
for spec in access.PAGES:
    if spec in allowed:
        pages.append(
            st.Page(
                VIEWS / spec.file_name,
                title=spec.title,
                url_path=spec.url_path,
                default=spec is allowed[0],
            )
        )
    else:
        refusal = auth.message_page("Serialtrace", auth.refusal_message(user, spec))
        pages.append(
            st.Page(refusal, title=spec.title, url_path=spec.url_path, visibility="hidden")
        )
current = st.navigation(pages)
# one read-only warehouse connection per page run; its timings when SERIALTRACE_DASHBOARDS_TIMINGS
with one_connection_per_run(), timing.page_run(current.title, script_started):
    current.run()
