"""SAP OData JSON, Oracle CSV / REST JSON and MES batch-record exports (pure parsers).

- SAP OData (S/4HANA ``API_PRODUCT_SRV/A_Product`` and ``API_BATCH_SRV/A_Batch``), V2
  (``{"d": {"results": [...]}}``, dates ``/Date(ms)/``) or V4 (``{"value": [...]}``).
  Standard properties: Product, ProductStandardID (GTIN), to_Description; Material,
  Batch, ShelfLifeExpirationDate, ManufactureDate, MatlBatchIsInRstrcdUseStock.
  Pharma fields are custom fields (``YY1_*_PRD``, ``YY1_ReleaseStatus`` ...), the way
  S/4HANA key-user extensibility exposes them.
- Oracle CSV exports (item master, lots, work orders; the header decides which) and
  Oracle REST JSON (``{"items": [...], "hasMore": ...}`` with CamelCase names, mapped to
  the same UPPER_SNAKE columns as the CSV).
- MES batch record export: JSON ``{"batchRecords": [...]}`` (work orders).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from typing import Any

from ingest.erp.config import Connection
from ingest.erp.records import FileFormatError, ParsedFile, parse_date, parse_quantity
from serialtrace.errors import ValidationError
from serialtrace.gs1.keys import ndc11, ndc_company_prefix_length

Row = Mapping[str, Any]

# ERP lot status words -> Serialtrace release status
STATUS_WORDS = {
    "released": "released",
    "active": "released",
    "approved": "released",
    "unrestricted": "released",
    "quarantine": "quarantine",
    "pending": "quarantine",
    "hold": "blocked",
    "blocked": "blocked",
    "restricted": "blocked",
    "rejected": "blocked",
    "recalled": "recalled",
    "recall": "recalled",
}


def release_status(word: object) -> str:
    text = str(word or "").strip().lower()
    return STATUS_WORDS.get(text, text)


def load_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"not valid JSON: {exc}") from exc


def _timestamp(value: object) -> dt.datetime | None:
    text = str(value or "")
    match = re.fullmatch(r"/Date\((\d+)(?:[+-]\d+)?\)/", text)
    if match:
        return dt.datetime.fromtimestamp(int(match.group(1)) / 1000, dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# Where each source carries the product and lot fields (keyword of ``_product_values`` /
# ``_lot_values`` → the source's field name): one table per source shape.
ODATA_PRODUCT = {
    "gtin": "ProductStandardID",
    "material": "Product",
    "ndc": "YY1_NDC_PRD",
    "cpl": "YY1_GS1CompanyPrefixLen_PRD",
    "dosage_form": "YY1_DosageForm_PRD",
    "strength": "YY1_Strength_PRD",
    "pack_size": "YY1_PackSize_PRD",
    "manufacturer": "YY1_Manufacturer_PRD",
}
ODATA_BATCH = {
    "material": "Material",
    "lot": "Batch",
    "expiry": "ShelfLifeExpirationDate",
    "made": "ManufactureDate",
    "quantity": "YY1_Quantity",
    "unit": "YY1_QuantityUnit",
}
ORACLE_ITEM = {
    "gtin": "GTIN",
    "material": "ITEM_NUMBER",
    "name": "DESCRIPTION",
    "ndc": "NDC",
    "cpl": "GS1_COMPANY_PREFIX_LENGTH",
    "dosage_form": "DOSAGE_FORM",
    "strength": "STRENGTH",
    "pack_size": "PACK_SIZE",
    "manufacturer": "MANUFACTURER",
}
ORACLE_LOT = {
    "material": "ITEM_NUMBER",
    "gtin": "GTIN",
    "lot": "LOT_NUMBER",
    "expiry": "EXPIRATION_DATE",
    "made": "ORIGINATION_DATE",
    "quantity": "PRIMARY_QUANTITY",
    "unit": "PRIMARY_UOM_CODE",
}


def _fields(entry: Row, fields: dict[str, str]) -> dict[str, Any]:
    """The keyword arguments ``fields`` names, read from a source row."""
    return {keyword: entry.get(name) for keyword, name in fields.items()}


def _product_values(
    where: str,
    out: ParsedFile,
    *,
    gtin: object,
    material: object,
    name: object,
    ndc: object,
    cpl: object,
    company_id: str,
    dosage_form: object,
    strength: object,
    pack_size: object,
    manufacturer: object,
    changed: dt.datetime | None,
) -> None:
    ndc_text = str(ndc or "") or None
    ndc_11 = None
    cpl_value: int | None = int(str(cpl)) if str(cpl or "").isdigit() else None
    if ndc_text:
        try:
            ndc_11 = ndc11(ndc_text)
            cpl_value = cpl_value or ndc_company_prefix_length(ndc_text)
        except ValidationError as exc:
            out.reject(where, "ndc", exc.rule)
            return
    out.add(
        "products",
        where,
        {
            "gtin": str(gtin or ""),
            "company_id": company_id,
            "company_prefix_length": cpl_value,
            "ndc": ndc_text,
            "ndc11": ndc_11,
            "name": str(name or ""),
            "dosage_form": str(dosage_form or ""),
            "strength": str(strength or ""),
            "pack_size": str(pack_size or ""),
            "manufacturer": str(manufacturer or ""),
            "erp_material": str(material or "") or None,
            "source_changed_at": changed,
        },
    )


def _lot_values(
    where: str,
    out: ParsedFile,
    *,
    material: object,
    gtin: object,
    lot: object,
    expiry: object,
    made: object,
    status: str,
    quantity: object,
    unit: object,
    company_id: str,
    changed: dt.datetime | None,
) -> None:
    before = len(out.errors)
    expiry_date = parse_date(expiry, where, "expiry", out)
    made_date = parse_date(made, where, "manufactured_on", out)
    qty = parse_quantity(quantity, where, "quantity", out)
    if len(out.errors) > before:
        return
    out.add(
        "lots",
        where,
        {
            "erp_material": str(material or "") or None,
            "gtin": str(gtin or "") or None,
            "lot": str(lot or ""),
            "expiry": expiry_date,
            "manufactured_on": made_date,
            "release_status": status,
            "company_id": company_id,
            "quantity": qty,
            "quantity_unit": str(unit or "") or None,
            "source_changed_at": changed,
        },
    )


# -------------------------------------------------------------------------- SAP OData


def parse_odata(data: bytes, conn: Connection) -> ParsedFile:
    doc = load_json(data)
    if isinstance(doc, dict) and isinstance(doc.get("d"), dict):
        entries = doc["d"].get("results", [doc["d"]])
    elif isinstance(doc, dict) and isinstance(doc.get("value"), list):
        entries = doc["value"]
    else:
        raise FileFormatError("not an OData payload: no 'd' (V2) or 'value' (V4) member")
    out = ParsedFile()
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise FileFormatError(f"entry {n} is not an object")
        kind = str(entry.get("__metadata", {}).get("type", ""))
        changed = _timestamp(entry.get("LastChangeDateTime"))
        if "A_Batch" in kind or "Batch" in entry:
            where = f"A_Batch {n} {entry.get('Material')}/{entry.get('Batch')}"
            status = release_status(entry.get("YY1_ReleaseStatus")) or (
                "blocked" if entry.get("MatlBatchIsInRstrcdUseStock") else "released"
            )
            _lot_values(
                where,
                out,
                **_fields(entry, ODATA_BATCH),
                gtin=None,
                status=status,
                company_id=conn.company_id,
                changed=changed,
            )
        elif "A_Product" in kind or "Product" in entry:
            texts = entry.get("to_Description", {})
            texts = texts.get("results", []) if isinstance(texts, dict) else texts
            name = next(
                (t.get("ProductDescription") for t in texts if t.get("Language") == "EN"),
                next((t.get("ProductDescription") for t in texts), ""),
            )
            _product_values(
                f"A_Product {n} {entry.get('Product')}",
                out,
                **_fields(entry, ODATA_PRODUCT),
                name=name,
                company_id=conn.company_id,
                changed=changed,
            )
        else:
            raise FileFormatError(f"entry {n} is neither an A_Product nor an A_Batch")
    return out


# ---------------------------------------------------------------------------- Oracle


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()


def _oracle_rows(rows: list[dict[str, Any]], conn: Connection, label: str) -> ParsedFile:
    out = ParsedFile()
    for n, row in enumerate(rows, 1):
        where = f"{label} {n}"
        changed = _timestamp(row.get("LAST_UPDATE_DATE"))
        if "WORK_ORDER_NUMBER" in row:
            _work_order_values(f"{where} {row['WORK_ORDER_NUMBER']}", out, row, conn)
        elif "LOT_NUMBER" in row:
            _lot_values(
                f"{where} {row.get('ITEM_NUMBER')}/{row.get('LOT_NUMBER')}",
                out,
                **_fields(row, ORACLE_LOT),
                status=release_status(row.get("STATUS_CODE")),
                company_id=conn.company_id,
                changed=changed,
            )
        elif "ITEM_NUMBER" in row:
            _product_values(
                f"{where} {row.get('ITEM_NUMBER')}",
                out,
                **_fields(row, ORACLE_ITEM),
                company_id=conn.company_id,
                changed=changed,
            )
        else:
            raise FileFormatError(f"{where}: neither an item, a lot nor a work order")
    return out


def _int(value: object) -> int | None:
    text = str(value if value is not None else "").strip()
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number == int(number) else None


def _work_order_values(where: str, out: ParsedFile, row: Row, conn: Connection) -> None:
    d = conn.work_order_defaults

    def pick(name: str, default_key: str) -> Any:
        value = row.get(name)
        return value if value not in (None, "") else d.get(default_key)

    out.add(
        "work_orders",
        where,
        {
            "work_order_id": str(row.get("WORK_ORDER_NUMBER") or ""),
            "erp_material": str(row.get("ITEM_NUMBER") or "") or None,
            "gtin": str(row.get("GTIN") or "") or None,
            "lot": str(row.get("LOT_NUMBER") or ""),
            "line_id": str(pick("PRODUCTION_LINE", "line_id") or ""),
            "site_gln": str(pick("SITE_GLN", "site_gln") or ""),
            "customer_gln": str(pick("CUSTOMER_GLN", "customer_gln") or ""),
            "planned_quantity": _int(row.get("PLANNED_START_QUANTITY")),
            "case_size": _int(pick("CASE_SIZE", "case_size")),
            "pallet_size": _int(pick("PALLET_SIZE", "pallet_size")),
            "company_id": conn.company_id,
        },
    )


def parse_oracle_csv(data: bytes, conn: Connection) -> ParsedFile:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"not UTF-8 text: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise FileFormatError("empty CSV: no header line")
    rows = []
    for row in reader:
        if None in row or any(v is None for v in row.values()):
            raise FileFormatError(f"line {reader.line_num}: wrong number of fields")
        rows.append({k.strip().upper(): (v or "").strip() for k, v in row.items()})
    return _oracle_rows(rows, conn, "line")


def parse_oracle_rest(data: bytes, conn: Connection) -> ParsedFile:
    doc = load_json(data)
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise FileFormatError("not an Oracle REST collection: no 'items' array")
    rows = [{_snake(k): v for k, v in item.items()} for item in doc["items"]]
    return _oracle_rows(rows, conn, "item")


# ------------------------------------------------------------------------------- MES


def parse_mes(data: bytes, conn: Connection) -> ParsedFile:
    doc = load_json(data)
    if not isinstance(doc, dict) or not isinstance(doc.get("batchRecords"), list):
        raise FileFormatError("not an MES batch record export: no 'batchRecords' array")
    out = ParsedFile()
    site = doc.get("site", {}).get("gln") if isinstance(doc.get("site"), dict) else None
    for n, rec in enumerate(doc["batchRecords"], 1):
        row = {
            "WORK_ORDER_NUMBER": rec.get("orderId"),
            "GTIN": rec.get("gtin"),
            "LOT_NUMBER": rec.get("batch"),
            "PRODUCTION_LINE": rec.get("line"),
            "SITE_GLN": rec.get("siteGln") or site,
            "CUSTOMER_GLN": rec.get("customerGln"),
            "PLANNED_START_QUANTITY": rec.get("plannedQuantity"),
            "CASE_SIZE": rec.get("caseSize"),
            "PALLET_SIZE": rec.get("palletSize"),
        }
        _work_order_values(f"batch record {n} {rec.get('orderId')}", out, row, conn)
    return out
