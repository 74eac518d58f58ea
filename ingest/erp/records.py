"""Canonical records every ERP/MES parser produces, before validation (pure, no I/O).

A parser turns one file into :class:`ParsedFile`: records of the master-data tables
(``products``, ``lots``, ``work_orders``, columns of ingest/schemas.py without the
provenance columns) and the errors of records it could not even read. Validation
(ingest/erp/validate.py) then decides whether the whole file may land.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# Release statuses of a lot, as Serialtrace knows them; only 'released' may be packaged.
RELEASED = "released"
RELEASE_STATUSES = ("released", "quarantine", "blocked", "recalled")

TABLES = ("products", "lots", "work_orders")


@dataclass(frozen=True)
class Record:
    """One row for ``table``; ``where`` locates it in its file (for error messages)."""

    table: str
    where: str
    values: dict[str, Any]


@dataclass(frozen=True)
class RowError:
    """Why one record of a file is rejected: ``field`` broke ``reason``."""

    where: str
    field: str
    reason: str
    unresolved: bool = False  # refers to master data not (yet) known: may come in a later file

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.reason}"


@dataclass
class ParsedFile:
    records: list[Record] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def add(self, table: str, where: str, values: dict[str, Any]) -> None:
        self.records.append(Record(table, where, values))

    def reject(self, where: str, field_name: str, reason: str) -> None:
        self.errors.append(RowError(where, field_name, reason))


class FileFormatError(Exception):
    """The file as a whole cannot be read (not well-formed, wrong message type...)."""


def parse_date(value: object, where: str, field_name: str, out: ParsedFile) -> dt.date | None:
    """Dates as ERPs write them: YYYYMMDD (IDoc), YYYY-MM-DD, or OData V2 /Date(ms)/."""
    text = str(value or "").strip()
    try:
        if text.startswith("/Date(") and text.endswith(")/"):
            millis = int(text[6:-2].split("+")[0].split("-")[0] or "x")
            return dt.datetime.fromtimestamp(millis / 1000, dt.UTC).date()
        if len(text) == 8 and text.isdigit():
            if text == "00000000":
                raise ValueError("empty SAP date")
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        out.reject(where, field_name, f"not a date: {text!r}")
        return None


def parse_quantity(value: object, where: str, field_name: str, out: ParsedFile) -> int | None:
    """A whole quantity; ERPs write '1000.000' for quantities in base units."""
    text = str(value if value is not None else "").strip()
    if text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        out.reject(where, field_name, f"not a number: {text!r}")
        return None
    if number != int(number):
        out.reject(where, field_name, f"must be a whole number of units, got {text}")
        return None
    return int(number)
