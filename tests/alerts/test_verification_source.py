"""Alerts from the verification query log (the contract between verification/ and alerts/)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alerts.locks import QuarantineLocks, item_key
from alerts.verification_source import outcomes_from_query_log, raise_from_query_log
from serialtrace.io.parquet import rows_to_table, write_atomic
from serialtrace.settings import Home
from tests.alerts.conftest import GTIN, Clock
from verification.querylog import QUERY_LOG_SCHEMA, raw_dir


def _row(query_id: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(QUERY_LOG_SCHEMA.names)
    row.update(
        query_id=query_id,
        logged_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        direction="incoming",
        request_form="gtin_serial",
        request_text="...",
        http_status=200,
        requestor_gln="9506000000015",
        gtin=GTIN,
        lot="LOT1",
        expiry="280229",
        latency_us=900,
    )
    row.update(values)
    return row


def test_not_verified_and_suspect_answers_open_one_case_each(home: Home, clock: Clock) -> None:
    rows = [
        _row("q-ok", serial="S00", outcome="verified", verified=True),
        _row("q-missing", serial="NEVER1", outcome="not_verified", verified=False,
             reason_code="No_match_GTIN_Serial"),
        _row("q-suspect", serial="S01", outcome="verified", verified=True,
             additional_info="Suspect"),
        _row("q-recalled", serial="S02", outcome="verified", verified=True,
             additional_info="Recalled"),
        _row("q-asked", serial="X9", outcome="not_verified", verified=False,
             direction="outgoing", reason_code="No_match_GTIN_Serial"),
        _row("q-bad", serial=None, gtin=None, outcome="bad_request", http_status=400,
             error_field="gtin"),
    ]  # fmt: skip
    write_atomic(raw_dir(home.root) / "part-1.parquet", rows_to_table(rows, QUERY_LOG_SCHEMA))

    outcomes = list(outcomes_from_query_log(home))
    assert sorted(o.query_id for o in outcomes) == ["q-missing", "q-suspect"]
    missing = next(o for o in outcomes if o.query_id == "q-missing")
    assert missing.expiry is not None and missing.expiry.isoformat() == "2028-02-29"
    assert missing.reason_code == "No_match_GTIN_Serial" and not missing.verified

    cases = raise_from_query_log(home, clock=clock)
    assert len(cases) == 2
    locks = QuarantineLocks(home.alerts_db)
    assert locks.case_for(item_key(GTIN, "NEVER1")) is not None
    assert locks.case_for(item_key(GTIN, "S00")) is None
    # reading the log again finds the same cases, never a second one
    again = raise_from_query_log(home, clock=clock)
    assert sorted(c.case_id for c in again) == sorted(c.case_id for c in cases)


def test_no_log_no_alerts(home: Home, clock: Clock) -> None:
    assert raise_from_query_log(home, clock=clock) == []
