"""Decommission product after it left the line: one serial, a case or pallet (everything
inside it) or a whole lot, with a reason and a user.

The target set comes from the warehouse (read-only: ``serial_lifecycle``,
``aggregation_hierarchy``, ``containers``); each serial's current status is its warehouse
status with the lifecycle events the warehouse has not seen yet replayed on top. Every
change is checked with the state machine; if one is illegal the whole request is refused
(:class:`DecommissionRefusedError` lists the offenders) and nothing is written. Otherwise
one Parquet part file is appended atomically, under the lifecycle writer lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from serialtrace.errors import ConfigurationError, SerialtraceError, ValidationError
from serialtrace.gs1.charset import validate_lot, validate_serial
from serialtrace.gs1.keys import normalize_gtin, validate_gln, validate_sscc
from serialtrace.lifecycle.machine import (
    POST_LINE_REASONS,
    TERMINAL,
    IllegalTransitionError,
    Reason,
    Status,
    check_transition,
    unit_label,
)
from serialtrace.lifecycle.store import append_events, read_events, replay_events, writer_lock

#: How many offenders the error message names (all are in ``.offenders``).
MAX_LISTED = 10


@dataclass(frozen=True)
class Target:
    gtin: str
    serial: str
    work_order_id: str
    lot: str
    status: str  # current: warehouse status + events the warehouse has not seen
    site_gln: str | None

    @property
    def key(self) -> str:
        return unit_label(self.gtin, self.serial)


@dataclass(frozen=True)
class DecommissionResult:
    request_id: str
    scope: str
    scope_id: str
    reason: str
    recorded_by: str
    occurred_at: datetime
    decommissioned: tuple[Target, ...]
    skipped: tuple[tuple[Target, str], ...]  # already final, left alone (case/pallet/lot)
    path: Path | None  # None for a dry run

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "scope": self.scope,
            "scope_id": self.scope_id,
            "reason": self.reason,
            "recorded_by": self.recorded_by,
            "occurred_at": self.occurred_at.isoformat(),
            "decommissioned": len(self.decommissioned),
            "serials": [
                {"gtin": t.gtin, "serial": t.serial, "from_status": t.status}
                for t in self.decommissioned
            ],
            "skipped": [
                {"gtin": t.gtin, "serial": t.serial, "status": t.status, "why": why}
                for t, why in self.skipped
            ],
            "path": None if self.path is None else str(self.path),
        }


class DecommissionRefusedError(SerialtraceError):
    """At least one serial of the request cannot be decommissioned; nothing was written."""

    def __init__(self, reason: str, offenders: list[IllegalTransitionError], total: int) -> None:
        self.reason = reason
        self.offenders = offenders
        self.total = total
        listed = "; ".join(str(e) for e in offenders[:MAX_LISTED])
        more = len(offenders) - MAX_LISTED
        tail = f"; and {more} more" if more > 0 else ""
        super().__init__(
            f"decommissioning ({reason}) refused, nothing written: "
            f"{len(offenders)} of {total} serials cannot change: {listed}{tail}"
        )


def parse_scope(scope: str, value: str) -> tuple[str, str, tuple[str, ...]]:
    """Validate what the user named. Returns ``(scope, scope_id, key parts)``."""
    if scope == "serial":
        gtin, sep, serial = value.partition(":")
        if not sep:
            raise ValidationError("--serial", f"expected GTIN:SERIAL, got {value!r}")
        gtin = normalize_gtin(gtin.strip(), "--serial GTIN")
        serial = validate_serial(serial.strip(), "--serial SERIAL")
        return "serial", unit_label(gtin, serial), (gtin, serial)
    if scope == "lot":
        gtin, sep, lot = value.partition(":")
        if not sep:
            raise ValidationError("--lot", f"expected GTIN:LOT, got {value!r}")
        gtin = normalize_gtin(gtin.strip(), "--lot GTIN")
        lot = validate_lot(lot.strip(), "--lot LOT")
        return "lot", f"(01){gtin}(10){lot}", (gtin, lot)
    if scope == "sscc":
        sscc = validate_sscc(value.strip().removeprefix("(00)"), "--sscc")
        return "sscc", sscc, (sscc,)
    raise ValidationError("scope", f"unknown scope {scope!r}")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


_TARGET_SQL = """
select s.gtin, s.serial, s.work_order_id, s.lot, s.status, w.site_gln
from serial_lifecycle s
left join dim_work_orders w on s.work_order_id = w.work_order_id
"""


def _resolve(
    warehouse: Path, scope: str, parts: tuple[str, ...]
) -> tuple[str, list[dict[str, Any]], set[str]]:
    """(resolved scope, target rows with warehouse status, event ids the warehouse holds)."""
    if not warehouse.is_file():
        raise ConfigurationError(
            f"no warehouse at {warehouse}: build it first (serialtrace demo, or dbt build)"
        )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if scope == "serial":
            rows = _rows(con, _TARGET_SQL + " where s.gtin = ? and s.serial = ?", *parts)
            if not rows:
                raise SerialtraceError(f"serial {unit_label(*parts)} is not in the warehouse")
        elif scope == "lot":
            rows = _rows(
                con, _TARGET_SQL + " where s.gtin = ? and s.lot = ? order by s.serial", *parts
            )
            if not rows:
                raise SerialtraceError(f"lot (01){parts[0]}(10){parts[1]} is not in the warehouse")
        else:
            (sscc,) = parts
            found = _rows(con, "select level from containers where sscc = ?", sscc)
            if not found:
                raise SerialtraceError(f"SSCC {sscc} is not a case or pallet in the warehouse")
            scope = str(found[0]["level"])
            rows = _rows(
                con,
                _TARGET_SQL + " join aggregation_hierarchy h"
                " on h.child_level = 'item' and h.child_gtin = s.gtin"
                " and h.child_serial = s.serial"
                " where h.case_sscc = ? or h.pallet_sscc = ? order by s.serial",
                sscc,
                sscc,
            )
            if not rows:
                raise SerialtraceError(f"{scope} {sscc} holds no items")
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables"
            ).fetchall()
        }
        known = (
            {
                str(e)
                for (e,) in con.execute("select event_id from stg_lifecycle__events").fetchall()
            }
            if "stg_lifecycle__events" in tables
            else set()
        )
    return scope, rows, known


def decommission(
    warehouse: Path,
    raw: Path,
    scope: str,
    value: str,
    reason: str,
    user: str,
    *,
    occurred_at: datetime | None = None,
    location_gln: str | None = None,
    dry_run: bool = False,
) -> DecommissionResult:
    """Check and record one decommissioning request (see the module docstring).

    ``scope`` is ``serial`` (``GTIN:SERIAL``), ``sscc`` (a case or a pallet) or ``lot``
    (``GTIN:LOT``). For a case, pallet or lot, serials already final (decommissioned or
    dispensed) are skipped and reported; for a single serial that is refused.
    """
    post_line = sorted(r.value for r in POST_LINE_REASONS)
    if reason not in post_line:
        raise ValidationError("--reason", f"must be one of {', '.join(post_line)}, got {reason!r}")
    user = user.strip()
    if not user:
        raise ValidationError("--user", "must name who decommissions")
    if location_gln is not None:
        location_gln = validate_gln(location_gln, "--location")
    now = datetime.now(UTC)
    at = occurred_at or now
    if at.tzinfo is None:
        raise ValidationError("--at", "must carry a UTC offset")
    if at > now:
        raise ValidationError("--at", "cannot be in the future")
    kind, scope_id, parts = parse_scope(scope, value)
    if not warehouse.is_file():
        raise ConfigurationError(
            f"no warehouse at {warehouse}: build it first (serialtrace demo, or dbt build)"
        )
    with writer_lock(raw):
        kind, rows, known = _resolve(warehouse, kind, parts)
        keys = [(r["gtin"], r["serial"]) for r in rows]
        pending = [e for e in read_events(raw, keys) if e["event_id"] not in known]
        current = replay_events({(r["gtin"], r["serial"]): r["status"] for r in rows}, pending)
        chosen: list[Target] = []
        skipped: list[tuple[Target, str]] = []
        offenders: list[IllegalTransitionError] = []
        for row in rows:
            status = current[(row["gtin"], row["serial"])][0]
            target = Target(
                row["gtin"],
                row["serial"],
                row["work_order_id"],
                row["lot"],
                status,
                row["site_gln"],
            )
            if kind != "serial" and status in TERMINAL:
                skipped.append((target, f"already {status}"))
                continue
            try:
                check_transition(target.key, status, Status.DECOMMISSIONED, reason)
            except IllegalTransitionError as exc:
                offenders.append(exc)
                continue
            chosen.append(target)
        if offenders:
            raise DecommissionRefusedError(reason, offenders, len(rows) - len(skipped))
        if not chosen:
            raise SerialtraceError(
                f"{kind} {scope_id}: nothing to decommission, every serial is already final"
            )
        request_id = str(uuid.uuid4())
        path = None
        if not dry_run:
            path = append_events(
                raw,
                f"{now:%Y%m%dT%H%M%S%f}-{request_id}",
                [
                    {
                        "event_id": str(uuid.uuid4()),
                        "request_id": request_id,
                        "gtin": t.gtin,
                        "serial": t.serial,
                        "work_order_id": t.work_order_id,
                        "from_status": t.status,
                        "to_status": Status.DECOMMISSIONED.value,
                        "reason": Reason(reason).value,
                        "scope": kind,
                        "scope_id": scope_id,
                        "location_gln": location_gln or t.site_gln,
                        "recorded_by": user,
                        "source": "cli",
                        "occurred_at": at,
                        "recorded_at": now,
                    }
                    for t in chosen
                ],
            )
    return DecommissionResult(
        request_id=request_id,
        scope=kind,
        scope_id=scope_id,
        reason=reason,
        recorded_by=user,
        occurred_at=at,
        decommissioned=tuple(chosen),
        skipped=tuple(skipped),
        path=path,
    )
