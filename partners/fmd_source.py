"""FMD messages of one batch, read from the warehouse (marts ``dim_products``,
``dim_work_orders``, ``serial_lifecycle``), for one market.

- ``ProductMasterData``: the product of the work order; the EU-only fields the warehouse
  does not hold (common name, pack type, MAH id, ATC codes, national code) are given by
  the caller (CLI options), never guessed.
- ``BatchPackData``: every serial that passed inspection (commissioned on the line).
- ``PackStatusUpdate``: packs whose status maps to an EMVS pack state (see
  :data:`EMVS_STATE`); changes with no pack-level EMVS state (``recalled`` and ``expired``
  are batch-level Hub operations, ``returned``) are listed in the notes, not dropped
  silently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from partners.fmd import FmdProduct, batch_upload, pack_status_update, product_master
from serialtrace.errors import SerialtraceError

# (serial_lifecycle.status, status_reason) -> EMVS pack state
EMVS_STATE = {
    ("dispensed", None): "SUPPLIED",
    ("decommissioned", "destroyed"): "DESTROYED",
    ("decommissioned", "stolen"): "STOLEN",
    ("decommissioned", "sample"): "SAMPLE",
    ("decommissioned", "exported"): "EXPORTED",
}
NOT_PACK_LEVEL = {
    "recalled": "a batch recall is a batch-level Hub operation",
    "expired": "expiry is a batch-level state the Hub derives",
    "returned": "a non-saleable return has no pack state of its own",
}


@dataclass(frozen=True)
class EuProductData:
    common_name: str
    pack_type: str
    mah_id: str
    mah_name: str = ""  # default: the manufacturer of dim_products
    national_code: str = ""
    atc_codes: tuple[str, ...] = ()


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> dict[str, Any]:
    cursor = con.execute(sql, params)
    row = cursor.fetchone()
    if row is None:
        raise SerialtraceError(f"not in the warehouse: {params}")
    return dict(zip([d[0] for d in cursor.description or []], row, strict=True))


def batch_messages(
    warehouse: Path,
    work_order_id: str,
    market: str,
    eu: EuProductData,
    created: datetime,
) -> tuple[list[dict[str, Any]], list[str]]:
    """(messages, notes) for one work order and market."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        wo = _one(
            con,
            "select work_order_id, gtin, lot, expiry from dim_work_orders where work_order_id = ?",
            [work_order_id],
        )
        product = _one(con, "select * from dim_products where gtin = ?", [wo["gtin"]])
        rows = con.execute(
            "select serial, outcome, status, status_reason from serial_lifecycle"
            " where work_order_id = ? order by serial",
            [work_order_id],
        ).fetchall()
    expiry = wo["expiry"] if isinstance(wo["expiry"], date) else date.fromisoformat(wo["expiry"])
    commissioned = [serial for serial, outcome, _, _ in rows if outcome == "pass"]
    if not commissioned:
        raise SerialtraceError(f"work order {work_order_id}: no commissioned serial to upload")
    updates: list[tuple[str, str]] = []
    skipped: dict[str, int] = {}
    for serial, outcome, status, reason in rows:
        if outcome != "pass":
            continue
        state = EMVS_STATE.get((status, reason if status == "decommissioned" else None))
        if state:
            updates.append((serial, state))
        elif reason in NOT_PACK_LEVEL:
            skipped[reason] = skipped.get(reason, 0) + 1
    notes = [
        f"{count} pack(s) {reason}: not sent as a pack status ({NOT_PACK_LEVEL[reason]})"
        for reason, count in sorted(skipped.items())
    ]
    base = f"{work_order_id}.{market}"
    fmd_product = FmdProduct(
        product_code=wo["gtin"],
        name=product["product_name"],
        common_name=eu.common_name,
        pharmaceutical_form=product["dosage_form"],
        strength=product["strength"],
        pack_type=eu.pack_type,
        pack_size=str(product["pack_size"]),
        mah_id=eu.mah_id,
        mah_name=eu.mah_name or product["manufacturer"],
        national_code=eu.national_code,
        atc_codes=eu.atc_codes,
    )
    messages = [
        product_master(fmd_product, market, f"{base}.product", created),
        batch_upload(wo["gtin"], wo["lot"], expiry, commissioned, market, f"{base}.batch", created),
    ]
    if updates:
        digest = hashlib.sha256(json.dumps(updates).encode()).hexdigest()[:12]
        messages.append(
            pack_status_update(
                wo["gtin"], wo["lot"], expiry, updates, market, f"{base}.status.{digest}", created
            )
        )
    return messages, notes
