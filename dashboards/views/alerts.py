"""Suspect product alerts: the queue (age, severity, owner, SLA left) and the case page
(investigation form, affected serials and their hierarchy, signatures, audit trail).

Reads and writes the alerts database of the session's client data space (alerts/). Every
action is taken as the logged-in user (re-checked on every run); what they may do follows
their roles (dashboards/access.py: auditors read only); a signature re-asks the user's
password (21 CFR 11.200). The form carries the case version it was loaded with, so a
concurrent change is refused ("reload") instead of being overwritten.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from alerts.model import Classification, Disposition, EntryKind, parse_identifier
from alerts.service import dispose_case, store_for
from alerts.store import Case
from dashboards.access import alert_actions, may_sign
from dashboards.common import page_session
from serialtrace.errors import SerialtraceError
from serialtrace.users import UserStore

session = page_session("alerts")
home, actor = session.home, session.user
st.title("Suspect product alerts")
if not home.alerts_db.exists():
    st.info(f"No alerts database at {home.alerts_db}: no alert was raised yet.")
    st.stop()
store = store_for(home)
users = UserStore(home.users_db)
now = store.clock()


def _hours(delta_seconds: float) -> float:
    return round(delta_seconds / 3600, 1)


def _row(c: Case, at: datetime) -> dict[str, object]:
    return {
        "case": c.case_id,
        "severity": c.severity,
        "type": c.alert_type,
        "status": c.status,
        "owner": c.assignee or "—",
        "age (h)": _hours(((c.closed_at or at) - c.opened_at).total_seconds()),
        "SLA left (h)": None if c.closed_at else _hours((c.sla_due_at - at).total_seconds()),
        "title": c.title,
    }


probe = st.sidebar.text_input(
    "Is it quarantined?", key="probe", placeholder="(01)GTIN(21)SERIAL, GTIN:SERIAL or SSCC"
)
if probe:
    try:
        key = parse_identifier(probe).key
        lock = store.locks.active([key]).get(key)
        if lock:
            st.sidebar.error(f"{key} is LOCKED by case {lock.case_id} ({lock.reason})")
        else:
            st.sidebar.success(f"{key} is not quarantined")
    except SerialtraceError as exc:
        st.sidebar.error(str(exc))

show_closed = st.sidebar.checkbox("Show closed cases", value=False, key="show_closed")
cases = store.cases(include_closed=show_closed)
order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
cases.sort(key=lambda c: (c.status == "closed", order.get(c.severity, 9), c.sla_due_at))
open_cases = [c for c in cases if c.status != "closed"]
cols = st.columns(4)
cols[0].metric("Open cases", f"{len(open_cases):,}")
cols[1].metric("Unassigned", f"{sum(1 for c in open_cases if not c.assignee):,}")
cols[2].metric("Past SLA", f"{sum(1 for c in open_cases if c.sla_due_at < now):,}")
cols[3].metric("Active locks", f"{len(store.locks.all_active()):,}")
st.subheader("Queue")
if not cases:
    st.write("No cases.")
    st.stop()
st.dataframe([_row(c, now) for c in cases], hide_index=True)

case_id = st.selectbox("Case", [c.case_id for c in cases], key="case")
if not case_id:
    st.stop()
case = store.get(case_id)
# the version this browser last showed: a form submitted against it must not overwrite a
# change made in between (the rerun that handles the submit reloads the case first)
seen_key = f"seen_version_{case_id}"
seen_version = int(st.session_state.get(seen_key, case.version))
st.session_state[seen_key] = case.version
st.subheader(f"{case.case_id} · {case.title}")
meta = st.columns(4)
meta[0].metric("Status", case.status)
meta[1].metric("Severity", case.severity)
meta[2].metric("Owner", case.assignee or "—")
meta[3].metric("Disposition", case.disposition or "—")
if case.determined_at:
    st.warning(
        f"Determined illegitimate ({case.classification}) at "
        f"{case.determined_at:%Y-%m-%d %H:%M} UTC: Form FDA 3911 due within 24 h "
        f"(`serialtrace alerts notification {case.case_id}`)."
    )

st.subheader("Affected serials and hierarchy")
idents = store.identifiers(case.case_id)
_SHOWN = ("identifier", "level", "role", "status", "lot", "expiry", "case_sscc", "pallet_sscc")
st.dataframe(
    [{**{k: r[k] for k in _SHOWN}, "locked": bool(r["locked"])} for r in idents],
    hide_index=True,
)
tree = ["digraph {", "rankdir=TB;", "node [shape=box, fontsize=10];"]
for r in idents[:60]:
    node = f'"{r["identifier"]}"'
    color = "#f4a6a6" if r["locked"] else "#d9ead3"
    tree.append(f'{node} [style=filled, fillcolor="{color}"];')
    # the true hierarchy: an item under its case, a case under its pallet
    above = r["case_sscc"] if r["level"] == "item" else r["pallet_sscc"]
    parent = f"(00){above}" if above else r["parent"]
    if parent and parent != r["identifier"]:
        tree.append(f'"{parent}" -> {node};')
tree.append("}")
st.graphviz_chart("\n".join(tree))
st.caption("Red: locked (quarantined); green: released.")

st.subheader("Investigation")
entries = store.entries(case.case_id)
st.dataframe(
    [{"at": e.at, "user": e.user, "kind": e.kind, "text": e.text} for e in entries],
    hide_index=True,
)
for s in store.signatures(case.case_id):
    valid = "valid" if store.verify_signature(s) else "INVALID (record changed)"
    st.caption(
        f"Signed by {s.full_name} ({s.user}) — {s.meaning} — {s.signed_at:%Y-%m-%d %H:%M:%S} "
        f"UTC — record SHA-256 {s.record_hash[:16]}… {valid}"
    )

actions = alert_actions(actor)
if case.status != "closed" and not actions and not may_sign(actor):
    st.info(f"{actor.name} ({', '.join(actor.roles)}): read-only on alert cases.")
if case.status != "closed" and actions:
    with st.form("entry"):
        st.write(f"Add to the investigation as {actor.full_name} ({actor.name})")
        action = st.selectbox("Action", list(actions), key="entry_action")
        text = st.text_area("Text (assign: the assignee's user name)", key="entry_text")
        classification = st.selectbox(
            "Classification (determine)", [c.value for c in Classification], key="entry_class"
        )
        st.caption(f"Editing case version {case.version}")
        if st.form_submit_button("Save"):
            try:
                if action not in alert_actions(actor):
                    raise SerialtraceError(f"{actor.name} may not {action} on alert cases")
                if action == "assign":
                    users.require(text.strip(), "quality", "admin")
                    store.assign(
                        case.case_id, text.strip(), user=actor.name, expected_version=seen_version
                    )
                elif action == "determine":
                    store.determine(
                        case.case_id,
                        Classification(classification),
                        text,
                        user=actor.name,
                        expected_version=seen_version,
                    )
                else:
                    store.add_entry(
                        case.case_id,
                        EntryKind(action),
                        text,
                        user=actor.name,
                        expected_version=seen_version,
                    )
                st.success(f"saved ({action}) as {actor.full_name}")
                st.rerun()
            except SerialtraceError as exc:
                st.error(str(exc))

if case.status != "closed" and may_sign(actor):
    with st.form("dispose", clear_on_submit=True):
        st.write(
            f"Disposition — electronic signature of {actor.full_name} ({actor.name}): "
            "re-enter your password"
        )
        sign_password = st.text_input("Password", type="password", key="sign_password")
        disposition = st.selectbox(
            "Disposition", [d.value for d in Disposition], key="sign_disposition"
        )
        meaning = st.selectbox(
            "Meaning of the signature", ["approved", "responsible"], key="sign_meaning"
        )
        reason = st.text_area("Reason (part of the signed record)", key="sign_reason")
        if st.form_submit_button("Sign and close"):
            try:
                closed, sig = dispose_case(
                    home,
                    case.case_id,
                    Disposition(disposition),
                    reason,
                    users,
                    actor.name,
                    sign_password,
                    meaning=meaning,
                    expected_version=seen_version,
                )
                st.success(
                    f"{closed.case_id} closed ({closed.disposition}), signed by {sig.full_name}"
                )
                st.rerun()
            except SerialtraceError as exc:
                st.error(str(exc))

with st.expander("Audit trail of this case"):
    shown = ("seq", "at", "user", "action", "payload", "hash")
    st.dataframe([{k: t[k] for k in shown} for t in store.trail(case.case_id)], hide_index=True)
    st.caption(str(store.verify_trail()))
