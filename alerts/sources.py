"""Alert sources: partner suspect-product reports, FMD (NMVS) alerts, line anomalies, manual.

File formats are documented in docs/alerts.md. Parsing is strict: a bad record fails the
whole file with a message naming the record and the field (nothing is half-imported);
importing the same file twice opens nothing new (cases are unique per source reference).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from alerts.model import Alert, AlertType, Severity, Subject
from serialtrace.errors import ValidationError

# ---- shared field parsing -----------------------------------------------------------------


def _text(rec: Mapping[str, Any], name: str, where: str, *, required: bool = True) -> str | None:
    value = rec.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{where}: {name}", "is required")
        return None
    return str(value).strip()


def _time(rec: Mapping[str, Any], name: str, where: str) -> datetime:
    text = _text(rec, name, where)
    assert text is not None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{where}: {name}", f"ISO 8601 time expected, got {text!r}") from None
    if value.tzinfo is None:
        raise ValidationError(f"{where}: {name}", f"must carry a UTC offset, got {text!r}")
    return value.astimezone(UTC)


def _expiry(rec: Mapping[str, Any], name: str, where: str) -> date | None:
    text = _text(rec, name, where, required=False)
    if text is None:
        return None
    try:
        if len(text) == 6 and text.isdigit():  # YYMMDD as printed (DD 00 = end of month)
            yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:])
            return date(2000 + yy, mm, dd or 28)
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{where}: {name}", f"YYMMDD or YYYY-MM-DD, got {text!r}") from None


def _subject(
    rec: Mapping[str, Any], where: str, *, gtin: str = "gtin", lot: str = "lot"
) -> Subject:
    sscc = _text(rec, "sscc", where, required=False)
    if sscc is not None:
        subject = Subject(sscc=sscc)
    else:
        subject = Subject(
            gtin=_text(rec, gtin, where),
            serial=_text(rec, "serial", where),
            lot=_text(rec, lot, where, required=False),
            expiry=_expiry(rec, "expiry", where),
        )
    try:
        subject.key  # noqa: B018 - checks the digits
    except ValidationError as exc:
        raise ValidationError(f"{where}: {gtin if sscc is None else 'sscc'}", exc.rule) from None
    return subject


def _records(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) pairs from a JSON file (an object, a list, or {"reports"/"alerts": [...]})
    or a CSV file with a header row."""
    if not path.is_file():
        raise ValidationError("file", f"{path} does not exist")
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return [
                (f"{path.name} line {n}", dict(row))
                for n, row in enumerate(csv.DictReader(handle), start=2)
            ]
    if path.suffix.lower() != ".json":
        raise ValidationError("file", f"{path.name}: .json or .csv expected")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValidationError(
            "file", f"{path.name}: not JSON ({exc.msg} at line {exc.lineno})"
        ) from None
    if isinstance(data, dict):
        data = data.get("reports", data.get("alerts", [data]))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValidationError("file", f"{path.name}: a JSON object or a list of objects expected")
    return [(f"{path.name} record {n}", r) for n, r in enumerate(data, start=1)]


# ---- partner suspect-product reports ------------------------------------------------------


def partner_reports(path: Path) -> list[Alert]:
    """One alert per ``report_id``. JSON records carry ``items`` (list of identifiers); CSV
    has one identifier per row, rows of one report sharing its ``report_id``."""
    grouped: dict[str, tuple[str, dict[str, Any], list[Subject]]] = {}
    for where, rec in _records(path):
        report_id = _text(rec, "report_id", where)
        assert report_id is not None
        items = rec.get("items")
        if items is None:
            subjects = [_subject(rec, where)]
        elif isinstance(items, list) and items:
            subjects = [_subject(i, f"{where} item {k}") for k, i in enumerate(items, start=1)]
        else:
            raise ValidationError(f"{where}: items", "a non-empty list of identifiers")
        if report_id in grouped:
            grouped[report_id][2].extend(subjects)
        else:
            grouped[report_id] = (where, rec, subjects)
    alerts = []
    for report_id, (where, rec, subjects) in grouped.items():
        reporter = _text(rec, "reporter_gln", where)
        reason = _text(rec, "reason", where)
        alerts.append(
            Alert(
                AlertType.PARTNER_REPORT,
                report_id,
                f"Partner {reporter} reports suspect product: {reason}",
                tuple(subjects),
                detail={
                    "report_id": report_id,
                    "reporter_gln": reporter,
                    "reporter_name": _text(rec, "reporter_name", where, required=False),
                    "reported_at": _time(rec, "reported_at", where).isoformat(),
                    "reason": reason,
                    "description": _text(rec, "description", where, required=False),
                    "contact": _text(rec, "contact", where, required=False),
                },
                raised_at=_time(rec, "reported_at", where),
            )
        )
    return alerts


# ---- FMD alerts from a national system (NMVS) ----------------------------------------------

#: NMVS return codes that raise an alert (EMVS level 5), with their meaning.
FMD_CODES: dict[str, str] = {
    "NMVS_FE_LOT_03": "unknown batch",
    "NMVS_FE_LOT_12": "expiry date mismatch",
    "NMVS_FE_LOT_13": "batch mismatch",
    "NMVS_NC_PC_02": "unknown serial number",
    "NMVS_NC_PCK_06": "undo does not match the pack state",
    "NMVS_NC_PCK_19": "status already set",
    "NMVS_NC_PCK_20": "undo after 10 days",
    "NMVS_NC_PCK_21": "undo by another user",
    "NMVS_NC_PCK_22": "pack already inactive",
    "NMVS_NC_PCK_27": "status change failed",
}


def fmd_alerts(path: Path) -> list[Alert]:
    """One alert per NMVS alert id (``alert_id``)."""
    alerts = []
    for where, rec in _records(path):
        alert_id = _text(rec, "alert_id", where)
        code = _text(rec, "return_code", where)
        assert alert_id is not None and code is not None
        if code not in FMD_CODES:
            raise ValidationError(f"{where}: return_code", f"unknown NMVS code {code!r}")
        market = _text(rec, "market", where)
        assert market is not None
        if len(market) != 2 or not market.isalpha():
            raise ValidationError(f"{where}: market", f"ISO 3166 alpha-2 expected, got {market!r}")
        subject = _subject(rec, where, gtin="product_code", lot="batch")
        raised = _time(rec, "raised_at", where)
        alerts.append(
            Alert(
                AlertType.FMD_ALERT,
                alert_id,
                f"NMVS {market.upper()} alert {alert_id}: {code} {FMD_CODES[code]}",
                (subject,),
                detail={
                    "alert_id": alert_id,
                    "market": market.upper(),
                    "return_code": code,
                    "meaning": FMD_CODES[code],
                    "raised_at": raised.isoformat(),
                    "product_code": subject.gtin,
                    "serial": subject.serial,
                    "batch": subject.lot,
                    "expiry": None if subject.expiry is None else subject.expiry.isoformat(),
                    "location": _text(rec, "location", where, required=False),
                    "transaction": _text(rec, "transaction", where, required=False),
                },
                raised_at=raised,
            )
        )
    return alerts


# ---- line anomalies -----------------------------------------------------------------------


def line_anomalies(raw_line: Path, raw_serials: Path) -> list[Alert]:
    """From the raw line zone: a serial read twice (the camera decoded a serial that had
    already passed: cause ``duplicate``) and a decoded serial that was never issued (not in
    any allocation of its GTIN). One alert per (work order, serial, kind)."""
    inspect = sorted((raw_line / "inspect").glob("**/*.parquet"))
    if not inspect:
        return []
    allocations = sorted((raw_serials / "allocations").glob("**/*.parquet"))
    with duckdb.connect() as con:
        con.execute(
            "create view inspect as select * from"
            f" read_parquet({_sql_list(inspect)}, union_by_name = true)"
        )
        if allocations:
            con.execute(
                "create view issued as select distinct gtin, serial from"
                f" read_parquet({_sql_list(allocations)}, union_by_name = true)"
            )
        else:
            con.execute(
                "create view issued as select ''::varchar gtin, ''::varchar serial where false"
            )
        rows = con.execute(
            """
            with decoded as (
                select work_order_id, line_id, seq, camera_id, gtin, expected_serial,
                       decoded_serial, cause, inspected_at
                from inspect where decoded_serial is not null
            ),
            duplicates as (
                select 'read_twice' as kind, d.*,
                       row_number() over (partition by work_order_id, gtin, decoded_serial
                                          order by inspected_at, seq) as n
                from decoded d where cause = 'duplicate'
            ),
            never_issued as (
                select 'never_issued' as kind, d.*,
                       row_number() over (partition by work_order_id, d.gtin, decoded_serial
                                          order by inspected_at, seq) as n
                from decoded d
                anti join issued i on i.gtin = d.gtin and i.serial = d.decoded_serial
            )
            select kind, work_order_id, line_id, seq, camera_id, gtin, expected_serial,
                   decoded_serial, cause, inspected_at
            from (select * from duplicates union all select * from never_issued)
            where n = 1
            order by inspected_at, seq, kind
            """
        ).fetchall()
    out = []
    for kind, wo, line, seq, camera, gtin, expected, decoded, cause, at in rows:
        what = "serial read twice" if kind == "read_twice" else "decoded serial was never issued"
        out.append(
            Alert(
                AlertType.LINE_ANOMALY,
                f"{wo}:{gtin}:{decoded}:{kind}",
                f"Line {line} {wo}: {what} ({decoded})",
                (Subject(gtin=str(gtin), serial=str(decoded)),),
                detail={
                    "kind": kind,
                    "work_order_id": wo,
                    "line_id": line,
                    "seq": int(seq),
                    "camera_id": camera,
                    "expected_serial": expected,
                    "decoded_serial": decoded,
                    "cause": cause,
                    "inspected_at": at.isoformat(),
                },
                severity=Severity.HIGH if kind == "never_issued" else None,
                raised_at=at.astimezone(UTC),
            )
        )
    return out


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


# ---- manual -------------------------------------------------------------------------------


def manual_alert(
    reference: str,
    description: str,
    subjects: Iterable[Subject],
    *,
    reported_by: str,
    severity: Severity | None = None,
    market: str | None = None,
) -> Alert:
    chosen = tuple(subjects)
    if not description.strip():
        raise ValidationError("description", "say what was seen")
    if not chosen:
        raise ValidationError("identifiers", "name at least one serial or SSCC")
    return Alert(
        AlertType.MANUAL,
        reference,
        f"Reported by {reported_by}: {description.strip()}",
        chosen,
        detail={"description": description.strip(), "reported_by": reported_by},
        severity=severity,
        market=market,
    )
