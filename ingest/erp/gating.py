"""Release gating: serials are allocated and a line starts only for a released batch.

:func:`check_release` is the pure rule; :func:`lot_status` reads the ERP's word on a lot
from the raw zone, in the order of the warehouse's ``lot_status`` mart (a connector's
rows outrank the demo configuration's, then the latest ERP change time wins);
:func:`require_released` combines them for the places that allocate or start a line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.erp.records import RELEASED
from serialtrace.errors import SerialtraceError


class BatchNotReleasedError(SerialtraceError):
    """A batch is not released for packaging (or unknown to the ERP)."""


@dataclass(frozen=True)
class LotStatus:
    gtin: str
    lot: str
    release_status: str
    source: str | None
    loaded_at: dt.datetime


def check_release(gtin: str, lot: str, status: LotStatus | None, action: str) -> None:
    """Refuse ``action`` unless the ERP reports batch ``gtin``/``lot`` as released."""
    if status is None:
        raise BatchNotReleasedError(
            f"batch {lot} (GTIN {gtin}): unknown to the ERP master data, not released for "
            f"packaging: {action} refused"
        )
    if status.release_status != RELEASED:
        raise BatchNotReleasedError(
            f"batch {lot} (GTIN {gtin}): release status is {status.release_status!r} "
            f"(from {status.source or 'unknown source'}, loaded {status.loaded_at:%Y-%m-%d %H:%M} "
            f"UTC), not released for packaging: {action} refused"
        )


def lot_status(raw_masterdata: Path, gtin: str, lot: str) -> LotStatus | None:
    folder = raw_masterdata / "lots"
    if not any(folder.glob("*.parquet")):
        return None
    with duckdb.connect() as con:
        columns = {
            r[0]
            for r in con.execute(
                f"describe select * from read_parquet('{folder}/*.parquet', union_by_name = true)"
            ).fetchall()
        }
        source = "source" if "source" in columns else "null"
        changed = "coalesce(source_changed_at, loaded_at)"
        if "source_changed_at" not in columns:
            changed = "loaded_at"
        # as int_lots_versioned: a connector's rows outrank the demo configuration's,
        # then the ERP's latest change wins
        row = con.execute(
            f"select lower(release_status), {source}, loaded_at "
            f"from read_parquet('{folder}/*.parquet', union_by_name = true) "
            f"where gtin = ? and lot = ? "
            f"order by coalesce({source}, '') = 'demo-config', {changed} desc, loaded_at desc "
            "limit 1",
            [gtin, lot],
        ).fetchone()
    if row is None:
        return None
    return LotStatus(gtin, lot, row[0], row[1], row[2])


def require_released(raw_masterdata: Path, gtin: str, lot: str, action: str) -> LotStatus:
    status = lot_status(raw_masterdata, gtin, lot)
    check_release(gtin, lot, status, action)
    assert status is not None
    return status


def work_order_batch(raw_masterdata: Path, work_order_id: str) -> tuple[str, str] | None:
    """(GTIN, lot) of a work order in the master data, or None when it is not there."""
    folder = raw_masterdata / "work_orders"
    if not any(folder.glob("*.parquet")):
        return None
    with duckdb.connect() as con:
        row = con.execute(
            f"select gtin, lot from read_parquet('{folder}/*.parquet', union_by_name = true) "
            "where work_order_id = ? order by loaded_at desc limit 1",
            [work_order_id],
        ).fetchone()
    return (row[0], row[1]) if row else None
