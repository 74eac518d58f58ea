"""Serialtrace dashboards (Streamlit, multi-page). Served by ``serialtrace dashboards``.

Every page reads the warehouse of the home folder named by SERIALTRACE_HOME, read-only.
"""

from __future__ import annotations

import streamlit as st

from dashboards.data import one_connection_per_run
from serialtrace.settings import PROJECT_ROOT

VIEWS = PROJECT_ROOT / "dashboards" / "views"

st.set_page_config(page_title="Serialtrace", layout="wide")
page = st.navigation(
    [
        st.Page(VIEWS / "batch_quality.py", title="Line and batch quality", default=True),
        st.Page(VIEWS / "serial_lookup.py", title="Serial lookup", url_path="serial"),
        st.Page(VIEWS / "reconciliation.py", title="Reconciliation", url_path="reconciliation"),
        st.Page(VIEWS / "alerts.py", title="Suspect product alerts", url_path="alerts"),
        st.Page(VIEWS / "partners.py", title="Trading partners", url_path="partners"),
        st.Page(VIEWS / "verification.py", title="Verification", url_path="verification"),
        st.Page(
            VIEWS / "verification_log.py",
            title="Verification query log",
            url_path="verification-log",
        ),
    ]
)
with one_connection_per_run():  # one read-only warehouse connection per page run
    page.run()
