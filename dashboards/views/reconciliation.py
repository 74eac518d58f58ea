"""Reconciliation per batch: planned vs allocated, printed, passed, rejected,
decommissioned — discrepancies highlighted and explained."""

from __future__ import annotations

import streamlit as st

from dashboards.cache import reconciliation
from dashboards.common import home_with_warehouse

home, warehouse = home_with_warehouse("reconciliation")
st.title("Reconciliation")
frame = reconciliation(warehouse)
if frame.is_empty():
    st.info("The warehouse holds no batch yet.")
    st.stop()
failing = frame.filter(~frame["reconciles"])
st.metric("Batches that do not reconcile", f"{failing.height} of {frame.height}")


def highlight(row: object) -> list[str]:
    ok = bool(getattr(row, "reconciles", True))
    return ["" if ok else "background-color: #fde2e1"] * len(row)  # type: ignore[arg-type]


st.dataframe(frame.to_pandas().style.apply(highlight, axis=1), hide_index=True)
