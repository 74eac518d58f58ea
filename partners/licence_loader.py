"""Load a partner-licence CSV into the raw zone, all or nothing; list what is on record.

One file = one load (``load_id`` = ``licences-`` + SHA-256 prefix of the bytes: the same
file loaded twice is recognised and not landed again). A valid file lands as
``raw/masterdata/partner_licences/part-lic-<sha256 prefix>.parquet``
(:data:`ingest.schemas.PARTNER_LICENCE_SCHEMA`); every load is kept, the warehouse
versions the licences from them. A file with any bad row lands nothing: a copy goes to
``<home>/partners/licences/quarantine/<stamp>-<name>`` with ``<that>.reasons.csv``
beside it (record, field, reason), as the ERP connectors do; the original is left where
it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ingest.erp.records import RowError
from ingest.schemas import PARTNER_LICENCE_SCHEMA
from partners.licences import parse_licences
from serialtrace.acting import acting_name
from serialtrace.errors import ConfigurationError, ValidationError
from serialtrace.io.parquet import rows_to_table, write_atomic
from serialtrace.settings import Home

TABLE = "partner_licences"
#: What makes a new version of a licence (as in int_partner_licences_versioned).
ATTRIBUTES = (
    "partner_id",
    "partner_gln",
    "licence_type",
    "state",
    "valid_from",
    "valid_to",
    "status",
)


def licences_dir(home: Home) -> Path:
    """The raw folder of the partner licences."""
    return home.raw_masterdata / TABLE


def quarantine_dir(home: Home) -> Path:
    return home.root / "partners" / "licences" / "quarantine"


@dataclass
class LicenceLoad:
    file: str
    load_id: str
    outcome: str  # 'loaded' | 'already loaded' | 'quarantined'
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    path: Path | None = None  # the Parquet file landed, or the quarantined copy

    def line(self) -> str:
        if self.outcome == "quarantined":
            return (
                f"{self.file} quarantined ({len(self.errors)} reasons, first: {self.errors[0]})"
                f" -> {self.path}"
            )
        return f"{self.file} {self.outcome} ({self.rows} licences, load {self.load_id})"


def load_licences(
    home: Home, path: Path, source: str = "csv", now: dt.datetime | None = None
) -> LicenceLoad:
    """Load one licence CSV (see the module docstring for the contract)."""
    if not path.is_file():
        raise ConfigurationError(f"FILE: {path} is not a file")
    if not source.strip():
        raise ValidationError("--source", "must not be empty")
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    load_id = f"licences-{sha[:16]}"
    now = now or dt.datetime.now(dt.UTC)
    target = licences_dir(home) / f"part-lic-{sha[:16]}.parquet"
    if target.is_file():
        rows = pq.read_metadata(target).num_rows
        return LicenceLoad(path.name, load_id, "already loaded", rows, path=target)
    parsed = parse_licences(data, now)
    parsed.errors.extend(_same_start_conflicts(home, parsed.rows))
    if parsed.errors:
        stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
        folder = quarantine_dir(home)
        folder.mkdir(parents=True, exist_ok=True)
        copy = folder / f"{stamp}-{path.name}"
        shutil.copyfile(path, copy)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["record", "field", "reason"])
        writer.writerows([e.where, e.field, e.reason] for e in parsed.errors)
        reasons = copy.with_name(copy.name + ".reasons.csv")
        tmp = reasons.with_name(f".{reasons.name}.tmp")
        tmp.write_text(buffer.getvalue())
        tmp.replace(reasons)
        return LicenceLoad(path.name, load_id, "quarantined", 0, parsed.errors, copy)
    provenance = {
        "source": source,
        "source_file": path.name,
        "load_id": load_id,
        "loaded_at": now,
        "loaded_by": acting_name("service"),
    }
    landed = [{**row, **provenance} for row in parsed.rows]
    write_atomic(target, rows_to_table(landed, PARTNER_LICENCE_SCHEMA))
    return LicenceLoad(path.name, load_id, "loaded", len(landed), path=target)


def _same_start_conflicts(home: Home, rows: list[dict[str, Any]]) -> list[RowError]:
    """A row with an explicit ``changed_at`` that is the start of a version of the same
    licence already on record with other values: two versions cannot start at one instant."""
    timed = [r for r in rows if r["source_changed_at"] is not None]
    if not timed:
        return []
    starts = {
        (v["issuing_authority"], v["licence_number"], v["changed_at"]): v
        for v in licence_versions(home)
    }
    errors = []
    for row in timed:
        key = (row["issuing_authority"], row["licence_number"], row["source_changed_at"])
        other = starts.get(key)
        if other is not None and any(other[a] != row[a] for a in ATTRIBUTES):
            errors.append(
                RowError(
                    f"licence {row['licence_number']} of {row['issuing_authority']}",
                    "changed_at",
                    f"a version with other values already starts at {row['source_changed_at']}",
                )
            )
    return errors


def licence_versions(home: Home) -> list[dict[str, Any]]:
    """Every landed licence row, per licence in change order (``changed_at`` = the
    source's change time, else the load time), repeats of the same values folded: the
    versions the warehouse builds too."""
    files = sorted(licences_dir(home).glob("*.parquet"))
    rows: list[dict[str, Any]] = []
    for file in files:
        rows.extend(pq.read_table(file, schema=PARTNER_LICENCE_SCHEMA).to_pylist())
    for row in rows:
        row["changed_at"] = row["source_changed_at"] or row["loaded_at"]
    rows.sort(
        key=lambda r: (r["issuing_authority"], r["licence_number"], r["changed_at"], r["loaded_at"])
    )
    versions: list[dict[str, Any]] = []
    for row in rows:
        previous = versions[-1] if versions else None
        same_key = previous is not None and all(
            previous[k] == row[k] for k in ("issuing_authority", "licence_number")
        )
        if same_key and previous is not None and all(previous[a] == row[a] for a in ATTRIBUTES):
            continue
        row["version_number"] = previous["version_number"] + 1 if same_key and previous else 1
        versions.append(row)
    return versions
