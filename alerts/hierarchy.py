"""What an alert's identifiers hold and where they sit, read from the warehouse (read-only).

A pallet holds cases and items, a case holds items (``aggregation_hierarchy``); a pack is
looked up in ``serial_lifecycle`` for its lot, expiry, status, case and pallet. Without a
warehouse (a fresh home, or a serial that was never issued) nothing is added: the case
still locks what was reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from alerts.locks import container_key, item_key
from alerts.model import Subject


@dataclass(frozen=True)
class Affected:
    """One identifier a case locks: reported, or contained in a reported container."""

    identifier: str  # lock key
    level: str  # 'item' | 'case' | 'pallet' | 'unknown'
    role: str  # 'reported' | 'contained'
    parent: str | None  # lock key of the reported container it was found in
    gtin: str | None
    serial: str | None
    sscc: str | None
    lot: str | None
    expiry: date | None
    status: str | None  # warehouse status; None = not in the warehouse (never issued?)
    case_sscc: str | None
    pallet_sscc: str | None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        str(n)
        for (n,) in con.execute("select table_name from information_schema.tables").fetchall()
    }


def expand(warehouse: Path, subjects: tuple[Subject, ...]) -> list[Affected]:
    """The reported subjects, then everything aggregated under each reported container."""
    out: dict[str, Affected] = {}
    con = duckdb.connect(str(warehouse), read_only=True) if warehouse.is_file() else None
    try:
        tables = _tables(con) if con is not None else set()
        have_life = "serial_lifecycle" in tables
        have_tree = {"aggregation_hierarchy", "containers"} <= tables
        for s in subjects:
            if s.sscc is not None:
                level = "unknown"
                if con is not None and have_tree:
                    row = con.execute(
                        "select level from containers where sscc = ?", [s.sscc]
                    ).fetchone()
                    level = str(row[0]) if row else "unknown"
                out.setdefault(
                    s.key,
                    Affected(
                        s.key,
                        level,
                        "reported",
                        None,
                        None,
                        None,
                        s.sscc,
                        s.lot,
                        s.expiry,
                        None,
                        None,
                        None,
                    ),
                )
                if con is not None and have_tree:
                    for a in _children(con, s.sscc, have_life):
                        out.setdefault(a.identifier, a)
            else:
                assert s.gtin is not None and s.serial is not None
                life = _life(con, s.gtin, s.serial) if con is not None and have_life else None
                out[s.key] = Affected(
                    s.key,
                    "item",
                    "reported",
                    None,
                    s.gtin,
                    s.serial,
                    None,
                    s.lot or (life or {}).get("lot"),
                    s.expiry or (life or {}).get("expiry"),
                    (life or {}).get("status"),
                    (life or {}).get("case_sscc"),
                    (life or {}).get("pallet_sscc"),
                )
    finally:
        if con is not None:
            con.close()
    return list(out.values())


def _life(con: duckdb.DuckDBPyConnection, gtin: str, serial: str) -> dict[str, Any] | None:
    cur = con.execute(
        "select lot, expiry, status, case_sscc, pallet_sscc from serial_lifecycle"
        " where gtin = ? and serial = ?",
        [gtin, serial],
    )
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description or []], row, strict=True))


def _children(con: duckdb.DuckDBPyConnection, sscc: str, have_life: bool) -> list[Affected]:
    life_cols = (
        "s.lot, s.expiry, s.status" if have_life else "null as lot, null as expiry, null as status"
    )
    life_join = (
        "left join serial_lifecycle s on s.gtin = h.child_gtin and s.serial = h.child_serial"
        if have_life
        else ""
    )
    rows = con.execute(
        f"select h.child_level, h.child_gtin, h.child_serial, h.child_sscc, h.case_sscc,"
        f" h.pallet_sscc, {life_cols} from aggregation_hierarchy h {life_join}"
        " where (h.case_sscc = ? or h.pallet_sscc = ? or h.parent_sscc = ?)"
        " order by h.child_level desc, h.child_sscc, h.child_serial",
        [sscc, sscc, sscc],
    ).fetchall()
    found: list[Affected] = []
    for level, gtin, serial, child_sscc, case_sscc, pallet_sscc, lot, expiry, status in rows:
        if level == "item":
            key = item_key(str(gtin), str(serial))
        else:
            if child_sscc is None or child_sscc == sscc:
                continue
            key = container_key(str(child_sscc))
        found.append(
            Affected(
                key,
                str(level),
                "contained",
                container_key(sscc),
                gtin,
                serial,
                child_sscc,
                lot,
                expiry,
                status,
                case_sscc,
                pallet_sscc,
            )
        )
    return found
