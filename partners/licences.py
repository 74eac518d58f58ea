"""Trading-partner licences: the CSV contract and its validation (pure, no I/O).

A licence file is a CSV with a header row naming the columns of :data:`COLUMNS`
(``state`` and ``changed_at`` may be left out or empty). Every row is checked; the file
lands only when every row passes, otherwise every broken rule is reported, one per row
and rule (the ERP connectors' all-or-nothing convention, docs/partners.md).

A licence is identified by ``(issuing_authority, licence_number)``; a later file with the
same key and other values is a new version of it (renewal, suspension, revocation): the
warehouse keeps every version with its validity period (``int_partner_licences_versioned``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ingest.erp.records import RowError
from ingest.schemas import LICENCE_STATUSES, LICENCE_TYPES
from serialtrace.errors import ValidationError
from serialtrace.gs1.keys import validate_gln

REQUIRED: Final = (
    "partner_id",
    "partner_gln",
    "licence_type",
    "licence_number",
    "issuing_authority",
    "valid_from",
    "status",
)
OPTIONAL: Final = ("state", "valid_to", "changed_at")
COLUMNS: Final = REQUIRED + OPTIONAL
KEY: Final = ("issuing_authority", "licence_number")
MAX_TEXT = 120


@dataclass
class ParsedLicences:
    rows: list[dict[str, Any]]
    errors: list[RowError]


def parse_licences(data: bytes, now: dt.datetime) -> ParsedLicences:
    """The validated rows of a licence CSV (keys of PARTNER_LICENCE_SCHEMA without the
    provenance columns) and every rule a row broke; ``now`` bounds ``changed_at``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ParsedLicences([], [RowError("file", "encoding", "is not UTF-8")])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    errors: list[RowError] = []
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    for name in missing:
        errors.append(RowError("header", name, "required column is missing"))
    for name in unknown:
        errors.append(RowError("header", name or "(empty)", "unknown column"))
    if len(set(header)) != len(header):
        errors.append(RowError("header", "columns", "a column is named twice"))
    if errors:
        return ParsedLicences([], errors)
    reader.fieldnames = header
    rows: list[dict[str, Any]] = []
    for number, raw in enumerate(reader, start=2):
        where = f"line {number}"
        if None in raw:
            errors.append(RowError(where, "columns", "has more values than the header"))
            continue
        values = {k: (v or "").strip() for k, v in raw.items()}
        if not any(values.values()):
            continue  # a blank line
        row = _row(where, values, now, errors)
        if row is not None:
            rows.append(row)
    if not rows and not errors:
        errors.append(RowError("file", "rows", "holds no licence"))
    return ParsedLicences(_no_conflicts(rows, errors), errors)


def _row(
    where: str, v: Mapping[str, str], now: dt.datetime, errors: list[RowError]
) -> dict[str, Any] | None:
    before = len(errors)
    for name in REQUIRED:
        if not v.get(name):
            errors.append(RowError(where, name, "is required"))
    for name in ("partner_id", "licence_number", "issuing_authority", "state"):
        if len(v.get(name, "")) > MAX_TEXT:
            errors.append(RowError(where, name, f"is longer than {MAX_TEXT} characters"))
    if len(errors) > before:
        return None
    try:
        gln = validate_gln(v["partner_gln"], "partner_gln")
    except ValidationError as exc:
        errors.append(RowError(where, exc.field, exc.rule))
        gln = ""
    licence_type = v["licence_type"].lower()
    if licence_type not in LICENCE_TYPES:
        errors.append(RowError(where, "licence_type", f"must be one of {', '.join(LICENCE_TYPES)}"))
    status = v["status"].lower()
    if status not in LICENCE_STATUSES:
        errors.append(RowError(where, "status", f"must be one of {', '.join(LICENCE_STATUSES)}"))
    valid_from = _date(where, "valid_from", v["valid_from"], errors)
    valid_to = (
        _date(where, "valid_to", v.get("valid_to", ""), errors) if v.get("valid_to") else None
    )
    if valid_from and valid_to and valid_to < valid_from:
        errors.append(RowError(where, "valid_to", "is before valid_from"))
    changed_at = (
        _instant(where, v.get("changed_at", ""), now, errors) if v.get("changed_at") else None
    )
    if len(errors) > before:
        return None
    return {
        "partner_id": v["partner_id"],
        "partner_gln": gln,
        "licence_type": licence_type,
        "licence_number": v["licence_number"],
        "issuing_authority": v["issuing_authority"],
        "state": v.get("state") or None,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "status": status,
        "source_changed_at": changed_at,
    }


def _date(where: str, name: str, value: str, errors: list[RowError]) -> dt.date | None:
    if len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    errors.append(RowError(where, name, f"must be a date YYYY-MM-DD, not {value!r}"))
    return None


def _instant(
    where: str, value: str, now: dt.datetime, errors: list[RowError]
) -> dt.datetime | None:
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        errors.append(RowError(where, "changed_at", f"must be an ISO 8601 time, not {value!r}"))
        return None
    if instant.tzinfo is None:
        errors.append(
            RowError(where, "changed_at", "needs a time zone (e.g. 2026-07-01T00:00:00Z)")
        )
        return None
    if instant > now:
        errors.append(RowError(where, "changed_at", "is in the future"))
        return None
    return instant.astimezone(dt.UTC)


def _no_conflicts(rows: list[dict[str, Any]], errors: list[RowError]) -> list[dict[str, Any]]:
    """One row per licence key: an identical repeat collapses, a different one is an error."""
    seen: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(str(row[k]) for k in KEY)
        if key not in seen:
            seen[key] = row
        elif seen[key] != row:
            errors.append(
                RowError(
                    f"licence {key[1]} of {key[0]}",
                    "licence_number",
                    "appears twice with different values in one file",
                )
            )
    return list(seen.values())


def standing(status: str, valid_from: dt.date, valid_to: dt.date | None, day: dt.date) -> str:
    """How a licence version stands on ``day``: valid, suspended, revoked, expired or
    not_yet_valid (the same rule as the mart ``shipment_licence_check``)."""
    if status in ("suspended", "revoked"):
        return status
    if day < valid_from:
        return "not_yet_valid"
    if valid_to is not None and day > valid_to:
        return "expired"
    return "valid"
