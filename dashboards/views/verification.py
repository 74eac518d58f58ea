"""Verification portal: scan or type an identifier, see the responder's answer, the
lifecycle, the aggregation parents and the query history of that serial."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import streamlit as st

from dashboards.common import home_with_warehouse
from dashboards.data import SerialView, serial_view
from serialtrace.errors import SerialtraceError
from verification.identifiers import parse_text
from verification.messages import ProductIdentifier
from verification.portal import portal_answer, query_history

home, warehouse = home_with_warehouse("verification")
st.title("Verification")
text = st.text_input(
    "Scan or type an identifier",
    key="identifier",
    placeholder="]d201…17…10…<GS>21…, (01)…(17)…(10)…(21)…, https://…/01/…/10/…/21/…?17=…, "
    "or GTIN SERIAL [LOT [YYMMDD]]",
)
if not text:
    st.stop()
try:
    parts = text.split()
    if len(parts) >= 2 and parts[0].isdigit() and not text.lstrip().startswith("("):
        from serialtrace.gs1.keys import normalize_gtin

        identifier = ProductIdentifier(
            normalize_gtin(parts[0]),
            parts[1],
            parts[2] if len(parts) > 2 else None,
            parts[3] if len(parts) > 3 else None,
        )
    else:
        identifier = parse_text(text)
    answer = portal_answer(home, identifier)
except SerialtraceError as exc:
    st.error(str(exc))
    st.stop()

response = answer.response
st.subheader(f"GTIN {identifier.gtin} · serial {identifier.serial}")
cols = st.columns(3)
cols[0].metric("Answer", "verified" if response.verified else "not verified")
cols[1].metric(
    "verificationFailureReason",
    response.failure_reason.value if response.failure_reason else "—",
)
cols[2].metric(
    "additionalInfo", response.additional_info.value if response.additional_info else "—"
)
if answer.quarantine_case:
    st.warning(f"Quarantined by alert case {answer.quarantine_case}")
if not answer.store_loaded:
    st.warning("The lookup store is not built yet (serialtrace verify refresh).")
with st.expander("Response data as the responder sends it"):
    body = response.to_json(
        responder_gln="(responder GLN)",
        correlation_id="(corrUUID)",
        timestamp=dt.datetime.now(dt.UTC),
    )
    st.code(json.dumps(body["data"]), language="json")

st.subheader("Lifecycle")
view: SerialView | None = None
try:
    view = serial_view(warehouse, identifier.gtin, identifier.serial)
except SerialtraceError as exc:
    st.info(str(exc))
if view is not None:
    life = view.lifecycle
    life_cols = st.columns(4)
    life_cols[0].metric("Status", str(life["status"]))
    life_cols[1].metric("Reason", str(life.get("status_reason") or "—"))
    life_cols[2].metric("Lot", str(life.get("lot") or "—"))
    life_cols[3].metric("Expiry", str(life.get("expiry") or "—"))
    st.dataframe(view.history.to_pandas(), hide_index=True)
    st.subheader("Aggregation parents")
    st.dataframe(
        pl.DataFrame([{"case (SSCC)": view.case or "—", "pallet (SSCC)": view.pallet or "—"}]),
        hide_index=True,
    )

st.subheader("Query history")
history = query_history(home, identifier.gtin, identifier.serial)
if history:
    st.dataframe(pl.DataFrame(history, infer_schema_length=None), hide_index=True)
else:
    st.write("No query about this serial yet.")
st.caption(f"{len(history)} queries logged for this serial")
