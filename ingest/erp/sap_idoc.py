"""SAP IDoc XML: material master (MATMAS05) and batch master (BATMAS03) in, and out.

Shapes follow SAP's XML IDoc form: a root named after the basic type (or its extension
type), one ``<IDOC BEGIN="1">`` per document with the control record ``EDI_DC40`` and
the data segments (``SEGMENT="1"``). Standard segments carry the standard fields:

- MATMAS: ``E1MARAM`` (MATNR material, MEINS base unit, EAN11/NUMTP the GTIN of the
  base unit), ``E1MAKTM`` (MAKTX description per SPRAS language), ``E1MARMM`` (units
  of measure with their EAN11). Pharma attributes SAP has no standard field for (NDC,
  dosage form, strength, pack size, manufacturer, GS1 company prefix length) travel in
  the customer extension segment ``Z1STMARA`` (extension type ``ZSTMATMAS05``), the way
  SAP installations add fields to an IDoc.
- BATMAS: ``E1BATMAS`` (MATERIAL, BATCH, PLANT), ``E1BPBATCHATT`` (EXPIRYDATE,
  PROD_DATE as YYYYMMDD), ``E1BPBATCHSTATUS`` (RESTRICTED = 'X' for restricted-use
  stock) and the extension segment ``Z1STBATCH`` (RELEASE_STATUS, QUANTITY, UOM): SAP's
  batch status is only restricted/unrestricted; quality release, quarantine and recall
  come from the extension when present, else restricted -> blocked, unrestricted ->
  released.

The control record's CREDAT/CRETIM is when the ERP created the message: it becomes the
record's ``source_changed_at`` (start of its validity in the versioned master data).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from ingest.erp.records import (
    RELEASE_STATUSES,
    FileFormatError,
    ParsedFile,
    parse_date,
    parse_quantity,
)
from serialtrace.errors import ValidationError
from serialtrace.gs1.keys import ndc11, ndc_company_prefix_length

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def parse_xml(data: bytes) -> etree._Element:
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise FileFormatError(f"not well-formed XML: {exc}") from exc


def _text(segment: etree._Element | None, name: str) -> str:
    if segment is None:
        return ""
    child = segment.find(name)
    return (child.text or "").strip() if child is not None else ""


def _created_at(control: etree._Element) -> dt.datetime | None:
    date, time = _text(control, "CREDAT"), _text(control, "CRETIM") or "000000"
    try:
        return dt.datetime.strptime(date + time, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def parse_idoc(data: bytes, company_id: str) -> ParsedFile:
    """Every MATMAS / BATMAS IDoc of one XML file as canonical records."""
    root = parse_xml(data)
    idocs = root.findall("IDOC")
    if not idocs:
        raise FileFormatError(f"root <{root.tag}> holds no <IDOC> element")
    out = ParsedFile()
    for number, idoc in enumerate(idocs, 1):
        control = idoc.find("EDI_DC40")
        if control is None:
            raise FileFormatError(f"IDOC {number}: no control record EDI_DC40")
        mestyp = _text(control, "MESTYP")
        docnum = _text(control, "DOCNUM") or str(number)
        changed = _created_at(control)
        if mestyp.endswith("MATMAS"):
            for seg in idoc.findall("E1MARAM"):
                _material(seg, f"IDoc {docnum} E1MARAM", company_id, changed, out)
        elif mestyp.endswith("BATMAS"):
            for seg in idoc.findall("E1BATMAS"):
                _batch(seg, f"IDoc {docnum} E1BATMAS", company_id, changed, out)
        else:
            raise FileFormatError(f"IDoc {docnum}: message type {mestyp!r} is not MATMAS or BATMAS")
    return out


def _material(
    seg: etree._Element, where: str, company_id: str, changed: dt.datetime | None, out: ParsedFile
) -> None:
    material = _text(seg, "MATNR")
    where = f"{where} {material}"
    if _text(seg, "MSGFN") == "003":  # deletion: never silently dropped
        out.reject(where, "MSGFN", "deletion (003) of a material is not accepted by Serialtrace")
        return
    base_unit = _text(seg, "MEINS")
    gtin = _text(seg, "EAN11")
    if not gtin:
        for unit in seg.findall("E1MARMM"):
            if _text(unit, "MEINH") == base_unit and _text(unit, "EAN11"):
                gtin = _text(unit, "EAN11")
    names = {
        _text(t, "SPRAS_ISO") or _text(t, "SPRAS"): _text(t, "MAKTX")
        for t in seg.findall("E1MAKTM")
    }
    name = names.get("EN") or names.get("E") or next(iter(names.values()), "")
    ext = seg.find("Z1STMARA")
    ndc = _text(ext, "NDC") or None
    cpl_text = _text(ext, "GS1_CPL")
    cpl: int | None = int(cpl_text) if cpl_text.isdigit() else None
    ndc_11: str | None = None
    if ndc:
        try:
            ndc_11 = ndc11(ndc)
            cpl = cpl or ndc_company_prefix_length(ndc)
        except ValidationError as exc:
            out.reject(where, "Z1STMARA/NDC", exc.rule)
            return
    out.add(
        "products",
        where,
        {
            "gtin": gtin,
            "company_id": company_id,
            "company_prefix_length": cpl,
            "ndc": ndc,
            "ndc11": ndc_11,
            "name": name,
            "dosage_form": _text(ext, "DOSAGE_FORM"),
            "strength": _text(ext, "STRENGTH"),
            "pack_size": _text(ext, "PACK_SIZE"),
            "manufacturer": _text(ext, "MANUFACTURER"),
            "erp_material": material,
            "source_changed_at": changed,
        },
    )


def _batch(
    seg: etree._Element, where: str, company_id: str, changed: dt.datetime | None, out: ParsedFile
) -> None:
    batch = _text(seg, "BATCH")
    where = f"{where} {_text(seg, 'MATERIAL')}/{batch}"
    before = len(out.errors)
    att = seg.find("E1BPBATCHATT")
    expiry = parse_date(_text(att, "EXPIRYDATE"), where, "EXPIRYDATE", out)
    made = parse_date(_text(att, "PROD_DATE"), where, "PROD_DATE", out)
    ext = seg.find("Z1STBATCH")
    status = _text(ext, "RELEASE_STATUS").lower()
    if not status:
        restricted = _text(seg.find("E1BPBATCHSTATUS"), "RESTRICTED") == "X"
        status = "blocked" if restricted else "released"
    quantity = parse_quantity(_text(ext, "QUANTITY"), where, "Z1STBATCH/QUANTITY", out)
    if len(out.errors) > before:
        return
    out.add(
        "lots",
        where,
        {
            "erp_material": _text(seg, "MATERIAL"),
            "lot": batch,
            "expiry": expiry,
            "manufactured_on": made,
            "release_status": status,
            "company_id": company_id,
            "quantity": quantity,
            "quantity_unit": _text(ext, "UOM") or None,
            "source_changed_at": changed,
        },
    )


# ---------------------------------------------------------------------------- rendering


def _segment(name: str, fields: Iterable[tuple[str, object]], children: str = "") -> str:
    body = "".join(
        f"<{k}>{escape(str(v))}</{k}>" if v not in (None, "") else f"<{k}/>" for k, v in fields
    )
    return f'<{name} SEGMENT="1">{body}{children}</{name}>'


def control_record(
    idoctyp: str,
    cimtyp: str,
    mestyp: str,
    docnum: int,
    sender: str,
    at: dt.datetime,
    receiver: str = "SERIALTRACE",
) -> str:
    return _segment(
        "EDI_DC40",
        [
            ("TABNAM", "EDI_DC40"),
            ("MANDT", "100"),
            ("DOCNUM", f"{docnum:016d}"),
            ("DOCREL", "758"),
            ("STATUS", "30"),
            ("DIRECT", "1"),
            ("OUTMOD", "2"),
            ("IDOCTYP", idoctyp),
            ("CIMTYP", cimtyp),
            ("MESTYP", mestyp),
            ("SNDPOR", sender if sender == "SERIALTRACE" else f"SAP{sender}"),
            ("SNDPRT", "LS"),
            ("SNDPRN", sender),
            ("RCVPOR", receiver if receiver == "SERIALTRACE" else f"SAP{receiver}"),
            ("RCVPRT", "LS"),
            ("RCVPRN", receiver),
            ("CREDAT", at.strftime("%Y%m%d")),
            ("CRETIM", at.strftime("%H%M%S")),
            ("SERIAL", at.strftime("%Y%m%d%H%M%S")),
        ],
    )


def _document(root: str, idocs: Sequence[str]) -> bytes:
    body = "".join(f'<IDOC BEGIN="1">{idoc}</IDOC>' for idoc in idocs)
    text = f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>{body}</{root}>\n'
    return etree.tostring(
        etree.fromstring(text.encode()), pretty_print=True, xml_declaration=True, encoding="UTF-8"
    )


def render_matmas(products: Sequence[dict[str, Any]], sender: str, at: dt.datetime) -> bytes:
    """MATMAS05 (extension ZSTMATMAS05) IDocs, one per product row (ingest schema keys)."""
    idocs = []
    for n, p in enumerate(products, 1):
        ext = _segment(
            "Z1STMARA",
            [
                ("NDC", p.get("ndc")),
                ("GS1_CPL", p["company_prefix_length"]),
                ("DOSAGE_FORM", p["dosage_form"]),
                ("STRENGTH", p["strength"]),
                ("PACK_SIZE", p["pack_size"]),
                ("MANUFACTURER", p["manufacturer"]),
            ],
        )
        text = _segment(
            "E1MAKTM",
            [("MSGFN", "005"), ("SPRAS", "E"), ("MAKTX", p["name"][:40]), ("SPRAS_ISO", "EN")],
        )
        unit = _segment(
            "E1MARMM",
            [
                ("MSGFN", "005"),
                ("MEINH", "EA"),
                ("UMREZ", 1),
                ("UMREN", 1),
                ("EAN11", p["gtin"]),
                ("NUMTP", "IC"),
            ],
        )
        mara = _segment(
            "E1MARAM",
            [
                ("MSGFN", "005"),
                ("MATNR", p["erp_material"]),
                ("MTART", "FERT"),
                ("MBRSH", "P"),
                ("MEINS", "EA"),
                ("EAN11", p["gtin"]),
                ("NUMTP", "IC"),
                ("XCHPF", "X"),
            ],
            text + unit + ext,
        )
        idocs.append(control_record("MATMAS05", "ZSTMATMAS05", "MATMAS", n, sender, at) + mara)
    return _document("MATMAS05", idocs)


def render_batmas(lots: Sequence[dict[str, Any]], sender: str, at: dt.datetime) -> bytes:
    """BATMAS03 (extension ZSTBATMAS03) IDocs, one per lot row (with ``erp_material``)."""
    idocs = []
    for n, lot in enumerate(lots, 1):
        if lot["release_status"] not in RELEASE_STATUSES:
            raise ValidationError("release_status", f"unknown status {lot['release_status']!r}")
        att = _segment(
            "E1BPBATCHATT",
            [
                ("EXPIRYDATE", lot["expiry"].strftime("%Y%m%d")),
                ("PROD_DATE", lot["manufactured_on"].strftime("%Y%m%d")),
            ],
        )
        restricted = "" if lot["release_status"] == "released" else "X"
        status = _segment("E1BPBATCHSTATUS", [("RESTRICTED", restricted)])
        ext = _segment(
            "Z1STBATCH",
            [
                ("RELEASE_STATUS", lot["release_status"].upper()),
                ("QUANTITY", f"{lot['quantity']}.000" if lot.get("quantity") is not None else ""),
                ("UOM", lot.get("quantity_unit") or "EA"),
            ],
        )
        batch = _segment(
            "E1BATMAS",
            [("MATERIAL", lot["erp_material"]), ("BATCH", lot["lot"]), ("PLANT", "1000")],
            att + status + ext,
        )
        idocs.append(control_record("BATMAS03", "ZSTBATMAS03", "BATMAS", n, sender, at) + batch)
    return _document("BATMAS03", idocs)
