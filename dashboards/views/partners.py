"""Trading partners: the scorecard (warehouse mart ``partner_scorecard``) and the latest
deliveries with their acknowledgements (the delivery ledger, read-only)."""

from __future__ import annotations

import sqlite3

import duckdb
import polars as pl
import streamlit as st

from dashboards.common import home_with_warehouse

home, warehouse = home_with_warehouse("partners")
st.title("Trading partners")

with duckdb.connect(str(warehouse), read_only=True) as con:
    has_mart = con.execute(
        "select count(*) from information_schema.tables where table_name = 'partner_scorecard'"
    ).fetchone() or (0,)
    scorecard = (
        pl.from_arrow(
            con.execute("select * from partner_scorecard order by partner_id").to_arrow_table()
        )
        if has_mart[0]
        else pl.DataFrame()
    )

st.subheader("Scorecard")
if isinstance(scorecard, pl.DataFrame) and not scorecard.is_empty():
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
uri = f"file:{home.partners_ledger}?mode=ro"
with sqlite3.connect(uri, uri=True) as ledger:
    cursor = ledger.execute(
        "select partner_id, direction, transport, file_name, status, attempts, message_id,"
        " sent_at, acknowledged_at, ack_kind, coalesce(ack_detail, failure_reason) as detail"
        " from deliveries order by delivery_id desc limit 200"
    )
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
deliveries = pl.DataFrame(rows, schema=names, orient="row")
if deliveries.is_empty():
    st.info("The delivery ledger is empty.")
else:
    st.dataframe(deliveries.to_pandas(), hide_index=True)
