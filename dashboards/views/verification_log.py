"""Verification query log: every query the responder answered (and every one this
installation asked), newest first, page by page; volume, not-verified answers by reason,
failed authentications and latency from the telemetry mart."""

from __future__ import annotations

import streamlit as st

from dashboards.common import home_with_warehouse, paged_table
from dashboards.data import verification_log_sql, verification_totals

home, warehouse = home_with_warehouse("verification_log")
st.title("Verification query log")
totals, reasons = verification_totals(warehouse)
if totals is None:
    st.info("No verification query in the warehouse yet (`serialtrace verify serve`).")
    st.stop()
cols = st.columns(5)
cols[0].metric("Queries", f"{totals['queries']:,}")
cols[1].metric("Verified", f"{totals['verified']:,}")
cols[2].metric("Not verified", f"{totals['not_verified']:,}")
cols[3].metric("Failed authentications", f"{totals['failed_authentications']:,}")
cols[4].metric("Slowest day's p99 latency", f"{totals['latency_ms_p99'] or 0:,.1f} ms")

if not reasons.is_empty():
    st.subheader("Not verified, by reason")
    st.bar_chart(reasons.to_pandas(), x="reason", y="answers", sort="-answers")

st.subheader("Queries, newest first")
direction = st.selectbox(
    "Direction", ["incoming", "outgoing", "(both)"], key="verification-direction"
)
only_failures = st.checkbox("Only answers that were not verified", key="verification-failures")
sql, params = verification_log_sql(
    None if direction == "(both)" else direction, only_not_verified=only_failures
)
paged_table(warehouse, sql, params, key="verification-log")
