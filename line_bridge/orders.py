"""Read what a line needs for one work order from the raw zone's master data contract
(ingest/schemas.py): product, lot (released?), the serials allocated to the order."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.erp.gating import require_released
from line_bridge.bridge import Batch
from serialtrace.errors import SerialtraceError
from serialtrace.gs1.keys import make_sscc
from serialtrace.serials.ledger import SerialLedger


@dataclass(frozen=True)
class Order:
    batch: Batch
    company_prefix: str
    case_size: int
    pallet_size: int


def load_order(raw: Path, work_order_id: str) -> Order:
    """The batch of ``work_order_id``; refused unless its lot is released for packaging."""
    con = duckdb.connect()

    def table(name: str) -> str:
        folder = raw / "masterdata" / name
        if not any(folder.glob("*.parquet")):
            raise SerialtraceError(f"no {name} master data under {folder}")
        return f"read_parquet('{folder}/*.parquet', union_by_name = true)"

    row = con.execute(
        f"""
        select w.gtin, w.lot, w.case_size, w.pallet_size, p.ndc, l.expiry, l.release_status,
               c.company_prefix
        from {table("work_orders")} w
        join {table("products")} p using (gtin)
        join {table("lots")} l on l.gtin = w.gtin and l.lot = w.lot
        join {table("companies")} c on c.company_id = p.company_id
        where w.work_order_id = ?
        order by w.loaded_at desc, p.loaded_at desc, l.loaded_at desc
        limit 1
        """,
        [work_order_id],
    ).fetchone()
    if row is None:
        raise SerialtraceError(f"work order {work_order_id} is not in the master data")
    gtin, lot, case_size, pallet_size, ndc, expiry, _release_status, company_prefix = row
    require_released(raw / "masterdata", gtin, lot, f"line start of work order {work_order_id}")
    allocations = raw / "serials" / "allocations" / f"work_order={work_order_id}"
    if not any(allocations.glob("*.parquet")):
        raise SerialtraceError(f"no serials allocated to work order {work_order_id}")
    serials = [
        s
        for (s,) in con.execute(
            f"select serial from read_parquet('{allocations}/*.parquet', filename = true, "
            "file_row_number = true) order by filename, file_row_number"
        ).fetchall()
    ]
    return Order(
        Batch(work_order_id, gtin, ndc, lot, expiry, serials),
        company_prefix,
        case_size,
        pallet_size,
    )


def sscc_source(
    ledger: SerialLedger, company_prefix: str, units: int, case_size: int, pallet_size: int
) -> Callable[[str], str]:
    """SSCCs for the cases (extension digit 0) and pallets (1) of a batch, reserved
    durably up front so no SSCC is ever used twice (unused ones are simply skipped)."""
    cases = math.ceil(units / case_size) + 1
    pallets = math.ceil(cases / pallet_size) + 1
    start = ledger.next_values(f"sscc:{company_prefix}", cases + pallets)
    counter = iter(range(start, start + cases + pallets))

    def new_sscc(level: str) -> str:
        return make_sscc(company_prefix, 0 if level == "case" else 1, next(counter))

    return new_sscc
