"""Batch close: serials allocated to a work order and never printed are retired.

Each one gets a lifecycle event ``allocated -> decommissioned`` with reason
``unused_at_batch_close``. They stay issued in the serial ledger (``serials.sqlite``), whose
primary key makes a second issue impossible, so they are never reissued.

Reads the raw contracts of the stages before (allocations, the print stream, the work
order), not the warehouse: the batch is closed before the warehouse is built.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from serialtrace.errors import SerialtraceError
from serialtrace.gs1.charset import yymmdd_to_date
from serialtrace.lifecycle.machine import (
    Binding,
    Reason,
    Status,
    check_binding,
    check_transition,
    unit_label,
)
from serialtrace.lifecycle.store import (
    append_events,
    events_dir,
    read_events,
    replay_events,
    writer_lock,
)

CLOSED_BY = "batch-close"


@dataclass(frozen=True)
class BatchCloseResult:
    work_order_id: str
    allocated: int
    printed: int
    unused: tuple[str, ...]  # serials retired now (or by the earlier close)
    path: Path
    already_closed: bool


def _file_name(work_order_id: str) -> str:
    return f"batch-close-{work_order_id}"


def _query(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        return con.execute(sql, params).fetchall()


def _parquet_rows(folder: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    if not files:
        return []
    source = "read_parquet(?, union_by_name = true)"
    return _query(sql.replace("{files}", source), [files, *params])


def close_batch(
    raw: Path,
    work_order_id: str,
    *,
    closed_at: datetime | None = None,
    closed_by: str = CLOSED_BY,
) -> BatchCloseResult:
    """Retire the serials of ``work_order_id`` that were allocated but never printed.

    Idempotent: closing a closed batch changes nothing and reports the first close. A
    part file is written even when nothing is unused: it records that the batch closed.
    """
    path = events_dir(raw) / f"part-{_file_name(work_order_id)}.parquet"
    allocations = _parquet_rows(
        raw / "serials" / "allocations" / f"work_order={work_order_id}",
        "select gtin, serial, lot, expiry from {files} order by serial",
    )
    if not allocations:
        raise SerialtraceError(f"work order {work_order_id}: no serial allocations in {raw}")
    prints = _parquet_rows(
        raw / "line" / "print" / f"work_order={work_order_id}",
        "select gtin, serial, lot, expiry from {files}",
    )
    orders = _parquet_rows(
        raw / "masterdata" / "work_orders",
        "select site_gln from {files} where work_order_id = ? order by loaded_at desc limit 1",
        work_order_id,
    )
    bound = {
        (gtin, serial): Binding(gtin, serial, lot, expiry, work_order_id)
        for gtin, serial, lot, expiry in allocations
    }
    printed: set[tuple[str, str]] = set()
    for gtin, serial, lot, yymmdd in prints:
        key = (gtin, serial)
        if key in bound:  # lot and expiry were bound at allocation: the print must agree
            observed = Binding(gtin, serial, lot, yymmdd_to_date(yymmdd), work_order_id)
            check_binding(bound[key], observed)
        printed.add(key)
    with writer_lock(raw):
        if path.exists():
            earlier = _query("select serial from read_parquet(?) order by serial", [str(path)])
            unused = tuple(str(serial) for (serial,) in earlier)
            return BatchCloseResult(
                work_order_id, len(bound), len(printed), unused, path, already_closed=True
            )
        candidates = [key for key in bound if key not in printed]
        current = replay_events(
            {key: Status.ALLOCATED.value for key in candidates}, read_events(raw, candidates)
        )
        now = datetime.now(UTC)
        at = closed_at or now
        request_id = str(uuid.uuid4())
        rows = []
        for key in candidates:
            status = current[key][0]
            if status != Status.ALLOCATED:  # retired already by another request
                continue
            gtin, serial = key
            check_transition(
                unit_label(gtin, serial),
                status,
                Status.DECOMMISSIONED,
                Reason.UNUSED_AT_BATCH_CLOSE,
            )
            rows.append(
                {
                    "event_id": str(uuid.uuid4()),
                    "request_id": request_id,
                    "gtin": gtin,
                    "serial": serial,
                    "work_order_id": work_order_id,
                    "from_status": status,
                    "to_status": Status.DECOMMISSIONED.value,
                    "reason": Reason.UNUSED_AT_BATCH_CLOSE.value,
                    "scope": "work_order",
                    "scope_id": work_order_id,
                    "location_gln": orders[0][0] if orders else None,
                    "recorded_by": closed_by,
                    "source": "batch_close",
                    "occurred_at": at,
                    "recorded_at": now,
                }
            )
        append_events(raw, _file_name(work_order_id), rows)
    return BatchCloseResult(
        work_order_id,
        len(bound),
        len(printed),
        tuple(row["serial"] for row in rows),
        path,
        already_closed=False,
    )
