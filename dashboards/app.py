"""Serialtrace dashboards (Streamlit). Served by ``serialtrace dashboards``.

Reads the warehouse of the home folder named by SERIALTRACE_HOME, read-only.
"""

from __future__ import annotations

import streamlit as st

from dashboards.data import batch_quality, grade_distribution, reject_causes
from serialtrace.settings import resolve_home

st.set_page_config(page_title="Serialtrace — batch quality", layout="wide")
home = resolve_home()
st.title("Batch quality")

if not home.warehouse.exists():
    st.error(f"No warehouse at {home.warehouse}. Run `serialtrace demo` first.")
    st.stop()

batches = batch_quality(home.warehouse)
if batches.is_empty():
    st.info("The warehouse holds no batch yet.")
    st.stop()

choice = st.selectbox("Batch (work order)", batches["work_order_id"].to_list())
batch = batches.filter(batches["work_order_id"] == choice).row(0, named=True)
st.caption(f"Line {batch['line_id']} · GTIN {batch['gtin']} · lot {batch['lot']}")

cols = st.columns(6)
cols[0].metric("Printed", f"{batch['printed']:,}")
cols[1].metric("Passed", f"{batch['passed']:,}")
cols[2].metric("Rejected", f"{batch['rejected']:,}")
cols[3].metric("Camera pass rate", f"{batch['camera_pass_rate']:.2%}")
cols[4].metric("Cases / pallets", f"{batch['cases']:,} / {batch['pallets']:,}")
cols[5].metric("Line speed", f"{batch['units_per_minute']:,.0f} units/min")

left, right = st.columns(2)
with left:
    st.subheader("Rejects by cause")
    causes = reject_causes(batch)
    if causes.is_empty():
        st.write("No rejects in this batch.")
    else:
        st.bar_chart(causes.to_pandas(), x="cause", y="units")
with right:
    st.subheader("Print grade distribution (ISO/IEC 15415)")
    st.bar_chart(grade_distribution(batch).to_pandas(), x="grade", y="units")

st.subheader("All batches")
st.dataframe(batches.to_pandas(), hide_index=True)
