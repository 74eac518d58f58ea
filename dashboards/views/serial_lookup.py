"""Serial lookup: any identifier form → status, lifecycle timeline, aggregation tree from
the pallet down to the items, and the EPCIS files that carried it."""

from __future__ import annotations

import streamlit as st

from dashboards.common import home_with_warehouse
from dashboards.data import PAGE_SIZE, epcis_files, resolve_identifier, serial_view
from serialtrace.errors import SerialtraceError

home, warehouse = home_with_warehouse("serial_lookup")
st.title("Serial lookup")
text = st.text_input(
    "Scan or type an identifier",
    key="identifier",
    placeholder="element string, (01)…(21)… , https://id.gs1.org/01/…/21/…, "
    "urn:epc:id:sgtin:…, or GTIN SERIAL",
)
if not text:
    st.stop()
try:
    gtin, serial = resolve_identifier(text)
    view = serial_view(warehouse, gtin, serial)
except SerialtraceError as exc:
    st.error(str(exc))
    st.stop()

life = view.lifecycle
st.subheader(f"GTIN {gtin} · serial {serial}")
cols = st.columns(4)
cols[0].metric("Status", str(life["status"]))
cols[1].metric("Reason", str(life.get("status_reason") or "—"))
cols[2].metric("Lot", str(life.get("lot") or "—"))
cols[3].metric("Work order", str(life.get("work_order_id") or "—"))
if home.alerts_db.exists():  # no alert ever raised: nothing can be locked
    from alerts.locks import QuarantineLocks, container_key, item_key

    keys = [item_key(gtin, serial)] + [
        container_key(str(sscc)) for sscc in (view.case, view.pallet) if sscc
    ]
    locks = QuarantineLocks(home.alerts_db).active(keys)
    for key, lock in locks.items():
        st.error(
            f"QUARANTINED: {key} is locked by alert case {lock.case_id} ({lock.reason}) "
            f"since {lock.locked_at}; it may not ship and verifies as suspect."
        )

st.subheader("Lifecycle")
st.dataframe(view.history.to_pandas(), hide_index=True)

st.subheader("Aggregation")
if view.case is None:
    st.write("Not in a case.")
else:
    tree = ["digraph {", "rankdir=TB;", "node [shape=box, fontsize=10];"]
    if view.pallet:
        tree.append(f'"pallet {view.pallet}" -> "case {view.case}";')
        for sscc in view.pallet_cases["sscc"].to_list()[:12]:
            if sscc != view.case:
                tree.append(f'"pallet {view.pallet}" -> "case {sscc}" [style=dotted];')
    tree.append(f'"case {view.case}" -> "item {serial}" [penwidth=2];')
    tree.append(f'"item {serial}" [style=filled, fillcolor="#ffe08a"];')
    tree.append("}")
    st.graphviz_chart("\n".join(tree))
    st.caption(
        f"Pallet {view.pallet or '—'} holds {view.pallet_cases.height} cases; "
        f"case {view.case} holds {view.case_items.height} items."
    )
    with st.expander(f"Items in case {view.case}"):
        st.dataframe(view.case_items.head(PAGE_SIZE).to_pandas(), hide_index=True)

st.subheader("EPCIS files that carried it")
files = epcis_files(home.epcis_outbox, str(life.get("work_order_id") or ""))
for path in files:
    st.code(str(path), language=None)
if not files:
    st.write("None yet.")
