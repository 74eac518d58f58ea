"""Alerts from the verification query log: every answer the responder gave that was not
verified, or verified but flagged suspect / illegitimate, opens (or finds) its case.

The responder never waits for the alerts database: it writes its append-only query log
(verification/querylog.py: a journal, sealed into ``raw/verification/queries``) and this
source reads the log. :func:`alerts.service.on_verification` is idempotent on the query id,
so reading the whole log again never opens a second case for the same answer. A quarantine
takes effect for verification at once anyway (the responder reads the locks live).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pyarrow.dataset as ds

from alerts.model import VerificationOutcome
from alerts.service import on_verification
from alerts.store import Case, Clock, utc_now
from serialtrace.gs1 import yymmdd_to_date
from serialtrace.settings import Home
from verification.querylog import flush_journal, raw_dir

_COLUMNS = [
    "query_id",
    "logged_at",
    "direction",
    "outcome",
    "requestor_gln",
    "gtin",
    "serial",
    "lot",
    "expiry",
    "verified",
    "reason_code",
    "additional_info",
]


def _expiry(text: str | None) -> date | None:
    """The logged expiry: ISO date, or the GS1 YYMMDD form (day 00 = end of month)."""
    if not text:
        return None
    if len(text) == 6 and text.isdigit():
        return yymmdd_to_date(text)
    return date.fromisoformat(text)


def outcomes_from_query_log(home: Home) -> Iterator[VerificationOutcome]:
    """Every incoming answer in the log that calls for an alert (journal flushed first)."""
    flush_journal(home.root)
    folder = raw_dir(home.root)
    if not folder.is_dir() or not any(folder.glob("*.parquet")):
        return
    dataset = ds.dataset(str(folder), format="parquet")
    table = dataset.to_table(
        columns=_COLUMNS,
        filter=(ds.field("direction") == "incoming")
        & ds.field("outcome").isin(["verified", "not_verified"]),
    )
    for row in table.to_pylist():
        if not row["gtin"] or not row["serial"] or row["verified"] is None:
            continue  # a refused or malformed request: nothing was answered about a pack
        flags = tuple(f for f in (row["additional_info"] or "").split(",") if f)
        outcome = VerificationOutcome(
            query_id=row["query_id"],
            at=row["logged_at"] if isinstance(row["logged_at"], datetime) else utc_now(),
            requestor_gln=row["requestor_gln"],
            gtin=row["gtin"],
            serial=row["serial"],
            lot=row["lot"],
            expiry=_expiry(row["expiry"]),
            verified=bool(row["verified"]),
            reason_code=row["reason_code"],
            additional_info=flags,
        )
        if outcome.needs_alert():
            yield outcome


def raise_from_query_log(home: Home, *, clock: Clock = utc_now) -> list[Case]:
    """Open (or find) the case of every answer that calls for one; returns those cases."""
    cases = []
    for outcome in outcomes_from_query_log(home):
        case = on_verification(home, outcome, clock=clock)
        if case is not None:
            cases.append(case)
    return cases
