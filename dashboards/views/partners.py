"""Trading partners: the scorecard (warehouse mart ``partner_scorecard``) and the latest
deliveries with their acknowledgements (the delivery ledger, read-only)."""

from __future__ import annotations

import streamlit as st

from dashboards.common import home_with_warehouse
from dashboards.data import latest_deliveries, partner_scorecard

home, warehouse = home_with_warehouse("partners")
st.title("Trading partners")
scorecard = partner_scorecard(warehouse)

st.subheader("Scorecard")
if not scorecard.is_empty():
    columns = st.columns(4)
    totals = {
        name: int(scorecard[name].sum())
        for name in ("files_sent", "files_acknowledged", "files_failed", "files_rejected")
    }
    columns[0].metric("Partners", f"{scorecard.height:,}")
    columns[1].metric("Files sent", f"{totals['files_sent']:,}")
    columns[2].metric("Acknowledged", f"{totals['files_acknowledged']:,}")
    columns[3].metric(
        "Failed or rejected", f"{totals['files_failed'] + totals['files_rejected']:,}"
    )
    st.dataframe(scorecard.to_pandas(), hide_index=True)
    st.caption(
        "Inbound columns: files the EPCIS inbound stage loaded, how many were schema-valid "
        "(a refused file counts as invalid), the deviations the tolerant parser recorded, "
        "and how many carried product and location master data."
    )
else:
    st.info("No partner deliveries in the warehouse yet (`serialtrace partners export`).")

st.subheader("Latest deliveries")
if not home.partners_ledger.exists():
    st.info(f"No delivery ledger at {home.partners_ledger} yet.")
    st.stop()
deliveries = latest_deliveries(home.partners_ledger)
if deliveries.is_empty():
    st.info("The delivery ledger is empty.")
else:
    st.dataframe(deliveries.to_pandas(), hide_index=True)
