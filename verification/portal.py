"""What the verification portal page shows, without Streamlit: the responder's answer for a
scanned identifier (same store, same live quarantine locks, same decision), and the query
history of that serial (raw zone and the journal segments not yet moved there)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import duckdb

from alerts.locks import item_key
from serialtrace.settings import Home
from verification.decide import IndexRecord, decide
from verification.messages import ProductIdentifier, VerificationResponse
from verification.querylog import QUERY_LOG_SCHEMA, journal_dir, raw_dir
from verification.service import LiveLocks
from verification.store import LookupStore, store_path

__all__ = ["PortalAnswer", "portal_answer", "query_history"]

HISTORY_COLUMNS = (
    "logged_at",
    "direction",
    "requestor_partner",
    "requestor_gln",
    "context",
    "outcome",
    "reason_code",
    "additional_info",
    "lot",
    "expiry",
    "latency_us",
    "correlation_id",
)


@dataclass(frozen=True)
class PortalAnswer:
    identifier: ProductIdentifier
    record: IndexRecord | None
    quarantine_case: str | None
    response: VerificationResponse
    store_loaded: bool


def portal_answer(
    home: Home, identifier: ProductIdentifier, today: dt.date | None = None
) -> PortalAnswer:
    """The answer the responder would give an unscoped partner right now."""
    store = LookupStore(store_path(home.root))
    try:
        record = store.get(identifier.gtin, identifier.serial)
        loaded = store.available
    finally:
        store.close()
    case = LiveLocks(home.alerts_db).case_for(item_key(identifier.gtin, identifier.serial))
    response = decide(
        identifier,
        record,
        today=today or dt.datetime.now(dt.UTC).date(),
        quarantined=record is not None and case is not None,
    )
    return PortalAnswer(identifier, record, case, response, loaded)


def query_history(home: Home, gtin: str, serial: str) -> list[dict[str, Any]]:
    """Every logged query about this serial, newest first."""
    rows: list[dict[str, Any]] = []
    folder = raw_dir(home.root)
    if any(folder.glob("*.parquet")):
        with duckdb.connect() as con:
            cursor = con.execute(
                f"select {', '.join(HISTORY_COLUMNS)} from read_parquet(?, union_by_name = true)"
                " where gtin = ? and serial = ?",
                [str(folder / "*.parquet"), gtin, serial],
            )
            names = [d[0] for d in cursor.description or []]
            rows += [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    journal = journal_dir(home.root)
    for segment in sorted(journal.glob("*.jsonl")) if journal.is_dir() else []:
        for line in segment.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line being written right now
            if row.get("gtin") == gtin and row.get("serial") == serial:
                row["logged_at"] = dt.datetime.fromisoformat(row["logged_at"])
                rows.append({c: row.get(c) for c in HISTORY_COLUMNS})
    assert set(HISTORY_COLUMNS) <= set(QUERY_LOG_SCHEMA.names)
    return sorted(rows, key=lambda r: r["logged_at"], reverse=True)
