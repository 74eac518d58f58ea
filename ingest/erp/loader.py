"""Load ERP/MES files into the raw zone: all or nothing per file, bad files to quarantine.

One file = one load (``load_id`` = connection + SHA-256 prefix of the bytes, so a file
delivered twice is recognised). Its rows are validated together; if any row breaks a
rule, nothing of the file lands: the file moves to ``<home>/erp/quarantine/<conn>/``
with ``<file>.reasons.csv`` beside it (one line per record and rule). Otherwise each
table's rows are written atomically to ``raw/masterdata/<table>/part-erp-<load_id>.parquet``,
the load is logged in ``raw/erp/loads/`` and the file moves to ``<home>/erp/processed/``.
A crash before the move leaves the file in the drop folder: the next pass loads it
again under the same ``load_id`` and overwrites the same part files (idempotent).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import requests

from ingest.erp.config import Connection, processed_dir, quarantine_dir
from ingest.erp.json_csv import parse_mes, parse_odata, parse_oracle_csv, parse_oracle_rest
from ingest.erp.records import FileFormatError, ParsedFile, RowError
from ingest.erp.sap_idoc import parse_idoc
from ingest.erp.validate import Known, validate
from ingest.schemas import ERP_LOAD_SCHEMA, MASTERDATA_TABLES
from serialtrace.acting import acting_name
from serialtrace.errors import SerialtraceError
from serialtrace.io.parquet import rows_to_table, write_atomic
from serialtrace.settings import Home

PARSERS: dict[str, Callable[[bytes, Connection], ParsedFile]] = {
    "sap_idoc": lambda data, conn: parse_idoc(data, conn.company_id),
    "sap_odata": parse_odata,
    "oracle_csv": parse_oracle_csv,
    "oracle_rest": parse_oracle_rest,
    "mes": parse_mes,
}
HTTP_TIMEOUT_S = 30


@dataclass
class LoadResult:
    connection: str
    file: str
    load_id: str
    outcome: str  # 'loaded' | 'quarantined' | 'already loaded'
    rows: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    moved_to: Path | None = None

    def line(self) -> str:
        if self.outcome == "quarantined":
            first = self.errors[0] if self.errors else "?"
            return (
                f"{self.connection}: {self.file} quarantined ({len(self.errors)} reasons, "
                f"first: {first}) -> {self.moved_to}"
            )
        counts = ", ".join(f"{n} {t}" for t, n in self.rows.items() if n) or "no rows"
        return f"{self.connection}: {self.file} {self.outcome} ({counts})"


def _loads_dir(home: Home) -> Path:
    return home.raw / "erp" / "loads"


def _already_loaded(home: Home, load_id: str) -> bool:
    path = _loads_dir(home) / f"part-{load_id}.parquet"
    if not path.is_file():
        return False
    return "loaded" in pq.read_table(path, columns=["outcome"]).column("outcome").to_pylist()


def known_masterdata(home: Home, company_id: str) -> Known:
    """GTINs, ERP materials and lots of ``company_id`` already in the raw zone."""
    md = home.raw_masterdata
    gtins: set[str] = set()
    materials: dict[str, str] = {}
    lots: set[tuple[str, str]] = set()
    with duckdb.connect() as con:
        if any((md / "products").glob("*.parquet")):
            rows = con.execute(
                f"select gtin, erp_material from read_parquet('{md}/products/*.parquet', "
                "union_by_name = true) where company_id = ? order by loaded_at",
                [company_id],
            ).fetchall()
            for gtin, material in rows:
                gtins.add(gtin)
                if material:
                    materials[material] = gtin
        if any((md / "lots").glob("*.parquet")) and gtins:
            for gtin, lot in con.execute(
                f"select distinct gtin, lot from read_parquet('{md}/lots/*.parquet', "
                "union_by_name = true)"
            ).fetchall():
                if gtin in gtins:
                    lots.add((gtin, lot))
    return Known(frozenset(gtins), materials, frozenset(lots))


def _move(path: Path, folder: Path, stamp: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stamp}-{path.name}"
    path.replace(target)
    return target


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def load_file(
    home: Home,
    conn: Connection,
    path: Path,
    today: dt.date | None = None,
    defer_unresolved: bool = False,
) -> LoadResult:
    """Load one dropped file of ``conn`` (see the module docstring for the contract).

    With ``defer_unresolved``, a file whose only faults are references to master data
    not known yet (a batch file before its material file) is left in the drop folder
    with outcome 'deferred' instead of going to quarantine."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    load_id = f"{conn.name}-{sha[:16]}"
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    result = LoadResult(conn.name, path.name, load_id, "loaded")
    if _already_loaded(home, load_id):
        result.outcome = "already loaded"
        result.moved_to = _move(path, processed_dir(home, conn.name), stamp)
        return result
    try:
        parsed = PARSERS[conn.kind](data, conn)
        validated = validate(parsed, known_masterdata(home, conn.company_id), today or now.date())
        errors, rows = validated.errors, validated.rows
    except FileFormatError as exc:
        errors, rows = [RowError("file", conn.kind, str(exc))], {}
    result.rows = {table: len(rows.get(table, [])) for table in ("products", "lots", "work_orders")}
    if defer_unresolved and errors and all(e.unresolved for e in errors):
        result.outcome, result.errors = "deferred", errors
        return result
    if errors or not any(result.rows.values()):
        if not errors:
            errors = [RowError("file", conn.kind, "holds no record")]
        result.outcome, result.errors = "quarantined", errors
        result.rows = {t: 0 for t in result.rows}
        folder = quarantine_dir(home, conn.name)
        result.moved_to = _move(path, folder, stamp)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["record", "field", "reason"])
        writer.writerows([e.where, e.field, e.reason] for e in errors)
        _write_text_atomic(
            result.moved_to.with_name(result.moved_to.name + ".reasons.csv"), buffer.getvalue()
        )
    else:
        provenance = {
            "source": conn.name,
            "source_file": path.name,
            "load_id": load_id,
            "loaded_at": now,
        }
        for table, table_rows in rows.items():
            if table_rows:
                landed = [_complete(table, {**row, **provenance}) for row in table_rows]
                write_atomic(
                    home.raw_masterdata / table / f"part-erp-{load_id}.parquet",
                    rows_to_table(landed, MASTERDATA_TABLES[table]),
                )
    log = {
        "load_id": load_id,
        "connection": conn.name,
        "company_id": conn.company_id,
        "kind": conn.kind,
        "source_file": path.name,
        "sha256": sha,
        "outcome": result.outcome,
        **result.rows,
        "rejected_rows": len(result.errors),
        "reason": str(result.errors[0]) if result.errors else None,
        "loaded_at": now,
        "loaded_by": acting_name("service"),
    }
    write_atomic(
        _loads_dir(home) / f"part-{load_id}.parquet", rows_to_table([log], ERP_LOAD_SCHEMA)
    )
    if result.outcome == "loaded":
        result.moved_to = _move(path, processed_dir(home, conn.name), stamp)
    return result


def _complete(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """Every column of the table's schema (absent optional ones as null)."""
    return {name: row.get(name) for name in MASTERDATA_TABLES[table].names}


def pending_files(conn: Connection) -> list[Path]:
    """Files waiting in the drop folder, oldest first (hidden and temporary files skipped)."""
    if not conn.drop.is_dir():
        return []
    files = [p for p in conn.drop.iterdir() if p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def collect(conn: Connection) -> list[Path]:
    """Bring the connection's remote files into its drop folder: HTTP API, SFTP."""
    from ingest.erp.sftp import pull

    return fetch(conn) + pull(conn)


def load_pending(home: Home, conn: Connection) -> list[LoadResult]:
    """Load every waiting file, oldest first. A file that refers to master data not known
    yet is retried after the others of the pass (files of one delivery may arrive in
    any order); whatever still does not resolve goes to quarantine."""
    results: list[LoadResult] = []
    pending = pending_files(conn)
    while pending:
        deferred = []
        for path in pending:
            result = load_file(home, conn, path, defer_unresolved=True)
            if result.outcome == "deferred":
                deferred.append(path)
            else:
                results.append(result)
        if len(deferred) == len(pending):  # no progress: quarantine them
            results.extend(load_file(home, conn, path) for path in deferred)
            break
        pending = deferred
    return results


# ---------------------------------------------------------------------------- HTTP APIs


def fetch(conn: Connection, session: requests.Session | None = None) -> list[Path]:
    """GET every API path of ``conn`` (all pages) into one file per path in its drop folder.

    The saved body is what gets loaded (and kept as evidence), so an API fetch follows
    exactly the path of a dropped file.
    """
    if not conn.url:
        return []
    http = session or requests.Session()
    headers = {"Accept": "application/json"}
    token = conn.token()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    saved = []
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    conn.drop.mkdir(parents=True, exist_ok=True)
    for n, api_path in enumerate(conn.paths or ("",)):
        document = _get_all(http, conn.url.rstrip("/") + api_path, headers, conn.name)
        if _entries(document) == 0:
            continue  # nothing new: no file (an empty file would only go to quarantine)
        target = conn.drop / f"api-{stamp}-{n:02d}.json"
        _write_text_atomic(target, json.dumps(document))
        saved.append(target)
    return saved


def _entries(document: Any) -> int | None:
    """Number of records of an OData / Oracle REST collection (None: another shape)."""
    if isinstance(document, dict):
        if isinstance(document.get("items"), list):
            return len(document["items"])
        if isinstance(document.get("value"), list):
            return len(document["value"])
        results = (
            document.get("d", {}).get("results") if isinstance(document.get("d"), dict) else None
        )
        if isinstance(results, list):
            return len(results)
    return None


def _get(
    http: requests.Session,
    url: str,
    headers: dict[str, str],
    name: str,
    params: dict[str, Any] | None = None,
) -> Any:
    try:
        response = http.get(url, headers=headers, params=params, timeout=HTTP_TIMEOUT_S)
    except requests.RequestException as exc:
        raise SerialtraceError(f"connection {name}: GET {url} failed: {exc}") from exc
    if response.status_code != 200:
        raise SerialtraceError(f"connection {name}: GET {url} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise SerialtraceError(f"connection {name}: GET {url} did not answer JSON") from exc


def _get_all(http: requests.Session, url: str, headers: dict[str, str], name: str) -> Any:
    """Follow OData V2 ``__next``, V4 ``@odata.nextLink`` and Oracle ``hasMore`` paging."""
    document = _get(http, url, headers, name)
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        items = list(document["items"])
        while document.get("hasMore"):
            document = _get(http, url, headers, name, {"offset": len(items)})
            if not document.get("items"):
                break
            items.extend(document["items"])
        return {"items": items, "count": len(items), "hasMore": False}
    if isinstance(document, dict) and isinstance(document.get("d"), dict):
        results = list(document["d"].get("results", []))
        page = document
        while page["d"].get("__next"):
            page = _get(http, page["d"]["__next"], headers, name)
            results.extend(page["d"].get("results", []))
        return {"d": {"results": results}}
    if isinstance(document, dict) and isinstance(document.get("value"), list):
        values = list(document["value"])
        page = document
        while page.get("@odata.nextLink"):
            page = _get(http, page["@odata.nextLink"], headers, name)
            values.extend(page.get("value", []))
        return {"value": values}
    return document
