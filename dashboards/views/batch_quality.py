"""Line and batch quality: throughput, rejects by cause (Pareto), camera pass rate,
grade distribution — per batch, with filters by line, product, lot and date."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards.cache import batch_quality, batch_status_counts, throughput
from dashboards.common import home_with_warehouse, paged_table
from dashboards.data import batch_serials_sql, grade_distribution, reject_causes

home, warehouse = home_with_warehouse("batch_quality")
st.title("Line and batch quality")

batches = batch_quality(warehouse)
if batches.is_empty():
    st.info("The warehouse holds no batch yet.")
    st.stop()

with st.sidebar:
    st.header("Filters")
    lines = st.multiselect("Line", sorted(batches["line_id"].unique().to_list()))
    products = st.multiselect("Product (GTIN)", sorted(batches["gtin"].unique().to_list()))
    lots = st.multiselect("Lot", sorted(batches["lot"].unique().to_list()))
    printed_dates = batches["first_print_at"].drop_nulls()
    dates = None
    if not printed_dates.is_empty():
        low, high = printed_dates.min().date(), printed_dates.max().date()  # type: ignore[union-attr]
        dates = st.date_input("Printed between", (low, high), min_value=low, max_value=high)

shown = batches
if lines:
    shown = shown.filter(pl.col("line_id").is_in(lines))
if products:
    shown = shown.filter(pl.col("gtin").is_in(products))
if lots:
    shown = shown.filter(pl.col("lot").is_in(lots))
if isinstance(dates, tuple) and len(dates) == 2:
    day = pl.col("first_print_at").dt.date()
    shown = shown.filter(day.is_between(dates[0], dates[1]) | pl.col("first_print_at").is_null())
if shown.is_empty():
    st.warning("No batch matches the filters.")
    st.stop()

choice = st.selectbox("Batch (work order)", shown["work_order_id"].to_list())
batch = shown.filter(pl.col("work_order_id") == choice).row(0, named=True)
st.caption(
    f"Line {batch['line_id']} · {batch.get('product_name') or ''} · GTIN {batch['gtin']} · "
    f"lot {batch['lot']}"
)

cols = st.columns(6)
cols[0].metric("Printed", f"{batch['printed']:,}")
cols[1].metric("Passed", f"{batch['passed']:,}")
cols[2].metric("Rejected", f"{batch['rejected']:,}")
cols[3].metric("Camera pass rate", f"{(batch['camera_pass_rate'] or 0):.2%}")
cols[4].metric("Cases / pallets", f"{batch['cases']:,} / {batch['pallets']:,}")
speed = float(batch["units_per_minute"] or 0)
cols[5].metric(
    "Line speed (units/min)",
    f"{speed / 1000:,.1f}k" if speed >= 10_000 else f"{speed:,.0f}",
    help=f"{speed:,.0f} units per minute over the batch's print span",
)

# before the fold: the two charts that answer "why were units rejected" and "how fast
# did the line run"; the rest sits in tabs whose content is drawn only when opened
left, right = st.columns(2)
causes = reject_causes(batch)
with left:
    st.subheader("Why were units rejected? (Pareto)")
    if causes.is_empty():
        st.write("No rejects in this batch.")
    else:
        st.bar_chart(causes.to_pandas(), x="cause", y="units", sort="-units")
with right:
    st.subheader("Throughput over time")
    st.line_chart(throughput(warehouse, choice).to_pandas(), x="bucket_start", y="units_per_minute")

serials_tab, grades_tab, causes_tab, batches_tab = st.tabs(
    [
        "Serials of this batch",
        "Print grade distribution",
        "Rejects by cause",
        f"Batches ({shown.height} shown)",
    ],
    key="batch-tabs",
    on_change="rerun",  # lazy: only the open tab's content runs
)
if serials_tab.open:
    with serials_tab:
        counts = batch_status_counts(warehouse, choice)
        options = ["(any)", *counts]
        status = st.selectbox(
            "Status",
            options,
            key="serial-status",
            format_func=lambda s: s if s == "(any)" else f"{s} ({counts[s]:,})",
        )
        sql, extra = batch_serials_sql(None if status == "(any)" else status)
        paged_table(warehouse, sql, [choice, *extra], key="batch-serials")
if grades_tab.open:
    with grades_tab:
        st.subheader("Print grade distribution (ISO/IEC 15415)")
        st.bar_chart(grade_distribution(batch).to_pandas(), x="grade", y="units")
if causes_tab.open:
    with causes_tab:
        if causes.is_empty():
            st.write("No rejects in this batch.")
        else:
            st.dataframe(causes.to_pandas(), hide_index=True)
if batches_tab.open:
    with batches_tab:
        st.dataframe(shown.to_pandas(), hide_index=True)
