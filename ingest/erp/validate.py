"""Validation of one parsed ERP/MES file against the rules and the known master data (pure).

The file lands only when every record passes; otherwise every broken rule is reported,
one line per record and rule, and the file goes to quarantine whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ingest.erp.records import RELEASE_STATUSES, ParsedFile, Record, RowError
from serialtrace.errors import ValidationError
from serialtrace.gs1.charset import validate_lot
from serialtrace.gs1.keys import normalize_gtin, validate_gln

_NOT_DATA = frozenset({"source_changed_at"})  # when a repeat was sent is not a difference
MAX_SHELF_LIFE_YEARS = 10  # an expiry further than this after manufacture is impossible


@dataclass(frozen=True)
class Known:
    """Master data already in the raw zone, for cross-file checks."""

    gtins: frozenset[str] = frozenset()
    materials: Mapping[str, str] = field(default_factory=dict)  # ERP material -> GTIN
    lots: frozenset[tuple[str, str]] = frozenset()


@dataclass
class Validated:
    rows: dict[str, list[dict[str, Any]]]
    errors: list[RowError]


def validate(parsed: ParsedFile, known: Known, today: dt.date) -> Validated:
    errors = list(parsed.errors)
    rows: dict[str, list[dict[str, Any]]] = {"products": [], "lots": [], "work_orders": []}
    by_table: dict[str, list[Record]] = {t: [] for t in rows}
    for record in parsed.records:
        by_table[record.table].append(record)

    gtins = set(known.gtins)
    materials = dict(known.materials)
    for record in by_table["products"]:
        value = _product(record, errors)
        if value is not None:
            gtins.add(value["gtin"])
            if value.get("erp_material"):
                materials[str(value["erp_material"])] = value["gtin"]
            rows["products"].append(value)

    lots = set(known.lots)
    for record in by_table["lots"]:
        value = _lot(record, gtins, materials, today, errors)
        if value is not None:
            lots.add((value["gtin"], value["lot"]))
            rows["lots"].append(value)

    for record in by_table["work_orders"]:
        value = _work_order(record, gtins, materials, lots, errors)
        if value is not None:
            rows["work_orders"].append(value)

    rows["products"] = _no_conflicts(rows["products"], ("gtin",), "product", errors)
    rows["lots"] = _no_conflicts(rows["lots"], ("gtin", "lot"), "batch", errors)
    rows["work_orders"] = _no_conflicts(rows["work_orders"], ("work_order_id",), "order", errors)
    return Validated(rows, errors)


def _check(errors: list[RowError], where: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except ValidationError as exc:
        errors.append(RowError(where, exc.field, exc.rule))
        return None


def _required(record: Record, errors: list[RowError], *names: str) -> bool:
    missing = [n for n in names if record.values.get(n) in (None, "")]
    for name in missing:
        errors.append(RowError(record.where, name, "is required"))
    return not missing


def _product(record: Record, errors: list[RowError]) -> dict[str, Any] | None:
    v = dict(record.values)
    if not _required(record, errors, "gtin", "name", "company_id", "manufacturer"):
        return None
    gtin = _check(errors, record.where, normalize_gtin, str(v["gtin"]), "gtin")
    cpl = v.get("company_prefix_length")
    if not isinstance(cpl, int) or not 6 <= cpl <= 12:
        errors.append(RowError(record.where, "company_prefix_length", "must be 6 to 12"))
        return None
    if gtin is None:
        return None
    v["gtin"] = gtin
    for name in ("dosage_form", "strength", "pack_size"):
        v[name] = v.get(name) or ""
    return v


def _resolve_gtin(
    record: Record, gtins: set[str], materials: Mapping[str, str], errors: list[RowError]
) -> str | None:
    v = record.values
    if v.get("gtin"):
        gtin = _check(errors, record.where, normalize_gtin, str(v["gtin"]), "gtin")
        if gtin is not None and gtin not in gtins:
            errors.append(RowError(record.where, "gtin", f"unknown GTIN {gtin}: no product", True))
            return None
        return str(gtin) if gtin else None
    material = str(v.get("erp_material") or "")
    if not material:
        errors.append(RowError(record.where, "gtin", "is required (GTIN or ERP material)"))
        return None
    if material not in materials:
        errors.append(
            RowError(
                record.where, "material", f"unknown material {material}: no product/GTIN", True
            )
        )
        return None
    return materials[material]


def _lot(
    record: Record,
    gtins: set[str],
    materials: Mapping[str, str],
    today: dt.date,
    errors: list[RowError],
) -> dict[str, Any] | None:
    before = len(errors)
    v = {k: val for k, val in record.values.items() if k != "erp_material"}
    if not _required(record, errors, "lot", "expiry", "manufactured_on", "release_status"):
        return None
    gtin = _resolve_gtin(record, gtins, materials, errors)
    _check(errors, record.where, validate_lot, str(v["lot"]), "lot")
    expiry, made = v["expiry"], v["manufactured_on"]
    if expiry <= made:
        errors.append(
            RowError(record.where, "expiry", f"{expiry} is not after manufacture date {made}")
        )
    elif expiry > _years_after(made, MAX_SHELF_LIFE_YEARS):
        errors.append(
            RowError(
                record.where,
                "expiry",
                f"{expiry} is more than {MAX_SHELF_LIFE_YEARS} years after manufacture {made}",
            )
        )
    if made > today + dt.timedelta(days=1):
        errors.append(RowError(record.where, "manufactured_on", f"{made} is in the future"))
    if v["release_status"] not in RELEASE_STATUSES:
        errors.append(
            RowError(
                record.where,
                "release_status",
                f"{v['release_status']!r} is not one of {', '.join(RELEASE_STATUSES)}",
            )
        )
    quantity = v.get("quantity")
    if quantity is not None and quantity < 0:
        errors.append(RowError(record.where, "quantity", f"must not be negative, got {quantity}"))
    if len(errors) > before or gtin is None:
        return None
    v["gtin"] = gtin
    return v


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return dt.date(day.year + years, 3, 1)


def _work_order(
    record: Record,
    gtins: set[str],
    materials: Mapping[str, str],
    lots: set[tuple[str, str]],
    errors: list[RowError],
) -> dict[str, Any] | None:
    before = len(errors)
    v = {k: val for k, val in record.values.items() if k != "erp_material"}
    names = ("work_order_id", "lot", "line_id", "site_gln", "customer_gln", "planned_quantity")
    if not _required(record, errors, *names, "case_size", "pallet_size"):
        return None
    gtin = _resolve_gtin(record, gtins, materials, errors)
    if gtin is not None and (gtin, v["lot"]) not in lots:
        errors.append(
            RowError(record.where, "lot", f"unknown batch {v['lot']} of GTIN {gtin}", True)
        )
    for name in ("site_gln", "customer_gln"):
        _check(errors, record.where, validate_gln, str(v[name]), name)
    for name in ("planned_quantity", "case_size", "pallet_size"):
        if not isinstance(v[name], int) or v[name] < 1:
            errors.append(RowError(record.where, name, "must be a positive whole number"))
    if len(errors) > before or gtin is None:
        return None
    v["gtin"] = gtin
    return v


def _no_conflicts(
    rows: list[dict[str, Any]], key: tuple[str, ...], what: str, errors: list[RowError]
) -> list[dict[str, Any]]:
    """Identical repeats collapse to one row; the same key with other data is an error."""
    seen: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        k = tuple(row[c] for c in key)
        first = seen.setdefault(k, row)
        differs = [
            c
            for c in sorted(set(first) | set(row))
            if c not in _NOT_DATA and first.get(c) != row.get(c)
        ]
        if first is row or not differs:
            continue
        diff = ", ".join(f"{c} {first.get(c)!s} vs {row.get(c)!s}" for c in differs)
        errors.append(
            RowError(
                f"{what} {'/'.join(str(x) for x in k)}",
                "/".join(key),
                f"duplicate {what} with other data ({diff})",
            )
        )
    return list(seen.values())
