"""Inbound EPCIS: parse partners' files (1.0–1.2 XML, 2.0 XML, 2.0 JSON-LD) safely into
the raw zone, under a strict or tolerant policy.

:func:`ingest_file` checks the file before parsing (size limit; a DOCTYPE with an internal
subset or an external identifier — entity declarations, XXE — is refused), parses it with
a locked-down parser (no DTD, no entity expansion, no network), then validates it against
the official schema of its version. Every schema error is a *deviation* (vendor
attributes, un-namespaced extensions, elements out of order, incomplete headers, 1.0/1.1
documents checked against 1.2, …):

- ``strict``: a file with deviations is refused, listing every one;
- ``tolerant``: the events are loaded and each deviation is recorded against the file.

A not-well-formed or hostile file is always refused. A refused file is moved to
``<home>/epcis/rejected/`` with a ``<name>.reason.txt`` beside it. A loaded file lands as
one folder ``raw/epcis_inbound/file=<file_id>/`` holding four Parquet tables (events,
epcs, masterdata, deviations; schemas below), written to a hidden staging folder and
renamed into place in one step: nothing is ever half-loaded.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from epcis.canonical import epc_to_digital_link, normalise_digital_link
from epcis.check import check_file
from epcis.deviations import classify
from epcis.documents import EpcisReadError, read_document, trailing_extras
from epcis.event_hash import Node, event_hash
from epcis.formats import event_id_of
from epcis.validate import EpcisValidationError
from serialtrace.errors import SerialtraceError
from serialtrace.io.parquet import rows_to_table, write_atomic
from serialtrace.settings import Home

TS = pa.timestamp("us", tz="UTC")
POLICIES: Final = ("strict", "tolerant")
#: Files above this size are refused before parsing (override per call).
MAX_BYTES: Final = 512 * 2**20

INBOUND_EVENT_SCHEMA: Final = pa.schema(
    [
        pa.field("file_id", pa.string(), nullable=False),
        pa.field("event_index", pa.int64(), nullable=False),  # 0-based position in the file
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("event_hash", pa.string(), nullable=False),  # CBV 2.0 hash
        pa.field("event_id", pa.string(), nullable=True),  # as the partner gave it
        pa.field("event_time", pa.string(), nullable=True),
        pa.field("event_time_zone_offset", pa.string(), nullable=True),
        pa.field("action", pa.string(), nullable=True),
        pa.field("biz_step", pa.string(), nullable=True),
        pa.field("disposition", pa.string(), nullable=True),
        pa.field("read_point", pa.string(), nullable=True),
        pa.field("biz_location", pa.string(), nullable=True),
        pa.field("parent_id", pa.string(), nullable=True),
        pa.field("lot", pa.string(), nullable=True),  # ILMD cbvmda:lotNumber
        pa.field("expiry", pa.string(), nullable=True),  # ILMD cbvmda:itemExpirationDate
        pa.field("source_line", pa.int64(), nullable=True),  # XML only
        # the whole event, format-neutral (epcis.inbound.node_to_json): carried unchanged
        # (same CBV 2.0 hash) as Transaction History in our shipping files
        pa.field("event_json", pa.string(), nullable=True),
    ]
)
INBOUND_EPC_SCHEMA: Final = pa.schema(
    [
        pa.field("file_id", pa.string(), nullable=False),
        pa.field("event_index", pa.int64(), nullable=False),
        pa.field("role", pa.string(), nullable=False),  # epc | child | input | output
        pa.field("epc", pa.string(), nullable=False),
        # the EPC as canonical GS1 Digital Link on id.gs1.org (URN or any Digital Link
        # in), null when it is neither: the join key to our own identifiers
        pa.field("epc_digital_link", pa.string(), nullable=True),
    ]
)
INBOUND_MASTERDATA_SCHEMA: Final = pa.schema(
    [
        pa.field("file_id", pa.string(), nullable=False),
        pa.field("vocabulary_type", pa.string(), nullable=False),
        pa.field("element_id", pa.string(), nullable=False),
        pa.field("attribute_id", pa.string(), nullable=False),
        pa.field("value", pa.string(), nullable=True),
    ]
)
INBOUND_DEVIATION_SCHEMA: Final = pa.schema(
    [
        pa.field("file_id", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=True),
        pa.field("message", pa.string(), nullable=False),
        # vendor_attribute | unnamespaced_extension | element_order | incomplete_header |
        # old_version | default_namespace | schema (epcis.deviations)
        pa.field("kind", pa.string(), nullable=True),
    ]
)
INBOUND_FILE_SCHEMA: Final = pa.schema(
    [
        pa.field("file_id", pa.string(), nullable=False),
        pa.field("file_name", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("format", pa.string(), nullable=False),  # 1.2-xml | 2.0-xml | 2.0-jsonld
        pa.field("schema_version", pa.string(), nullable=True),
        pa.field("partner_id", pa.string(), nullable=True),
        pa.field("policy", pa.string(), nullable=False),
        pa.field("sender", pa.string(), nullable=True),
        pa.field("receiver", pa.string(), nullable=True),
        pa.field("events", pa.int64(), nullable=False),
        pa.field("deviations", pa.int64(), nullable=False),
        pa.field("loaded_at", TS, nullable=False),
    ]
)
INBOUND_TABLES: Final[dict[str, pa.Schema]] = {
    "inbound_files": INBOUND_FILE_SCHEMA,
    "inbound_events": INBOUND_EVENT_SCHEMA,
    "inbound_epcs": INBOUND_EPC_SCHEMA,
    "inbound_masterdata": INBOUND_MASTERDATA_SCHEMA,
    "inbound_deviations": INBOUND_DEVIATION_SCHEMA,
}

_DOCTYPE: Final = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_BARE_DOCTYPE: Final = re.compile(rb"<!DOCTYPE\s+[\w:.\-]+\s*>", re.IGNORECASE)
_ENTITY: Final = re.compile(rb"<!ENTITY", re.IGNORECASE)
_MDA: Final = "{urn:epcglobal:cbv:mda}"
_ROLES: Final = {"epcList": "epc", "childEPCs": "child", "inputEPCList": "input",
                 "outputEPCList": "output"}  # fmt: skip


class InboundRefusedError(SerialtraceError):
    """An inbound file was refused; it was moved to the rejected folder with the reason."""

    def __init__(self, message: str, rejected: Path) -> None:
        self.rejected = rejected
        super().__init__(f"{message} (moved to {rejected})")


@dataclass(frozen=True)
class InboundResult:
    file_id: str
    folder: Path
    format: str
    events: int
    epcs: int
    deviations: list[str]


def inbound_dir(home: Home) -> Path:
    return home.raw / "epcis_inbound"


def rejected_dir(home: Home) -> Path:
    return home.root / "epcis" / "rejected"


def _reject(home: Home, path: Path, reasons: Iterable[str]) -> InboundRefusedError:
    folder = rejected_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    target = folder / f"{stamp}-{path.name}"
    shutil.move(str(path), target)
    lines = list(reasons)
    target.with_name(target.name + ".reason.txt").write_text("\n".join(lines) + "\n")
    return InboundRefusedError(f"{path.name} refused: {lines[0]}", target)


def _hostile(path: Path, max_bytes: int) -> str | None:
    """Why the raw bytes must not be parsed at all, or ``None``."""
    size = path.stat().st_size
    if size > max_bytes:
        return f"file is {size} bytes, over the {max_bytes}-byte limit"
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    if _ENTITY.search(head):
        return "entity declarations (<!ENTITY>): refused (XXE / entity expansion)"
    doctypes = len(_DOCTYPE.findall(head))
    if doctypes and len(_BARE_DOCTYPE.findall(head)) != doctypes:
        return "DOCTYPE with an internal subset or an external DTD: refused (XXE)"
    return None


def node_to_json(node: Node) -> str:
    """A neutral event as compact JSON (``[name, text, pair_type, [children…]]``)."""

    def tree(n: Node) -> list[Any]:
        return [n.name, n.text, n.pair_type, [tree(c) for c in n.children]]

    return json.dumps(tree(node), ensure_ascii=False, separators=(",", ":"))


def node_from_json(text: str) -> Node:
    """The neutral event :func:`node_to_json` wrote."""

    def build(item: list[Any]) -> Node:
        name, value, pair_type, children = item
        return Node(name, value, [build(c) for c in children], pair_type)

    result: list[Any] = json.loads(text)
    return build(result)


def canonical_epc(epc: str) -> str | None:
    """The canonical Digital Link of an EPC URN or a Digital Link, else ``None``."""
    if epc.startswith("urn:"):
        return epc_to_digital_link(epc)
    return normalise_digital_link(epc)


def _text(node: Node, name: str) -> str | None:
    for child in node.children:
        if child.name == name:
            if child.children and child.children[0].name == "id":
                return child.children[0].text or None
            return child.text or None
    return None


def _ilmd(node: Node, name: str) -> str | None:
    for child in node.children:
        if child.name == "ilmd":
            for item in child.children:
                if item.name == _MDA + name:
                    return item.text
    return None


def ingest_file(
    home: Home,
    path: Path,
    *,
    partner_id: str | None = None,
    policy: str = "strict",
    max_bytes: int = MAX_BYTES,
) -> InboundResult:
    """Load one partner EPCIS file into the raw zone (see the module doc)."""
    if policy not in POLICIES:
        raise SerialtraceError(f"policy must be strict or tolerant, got {policy!r}")
    path = Path(path)
    if not path.is_file():
        raise SerialtraceError(f"{path}: no such file")
    hostile = _hostile(path, max_bytes)
    if hostile is not None:
        raise _reject(home, path, [hostile])
    try:
        report = check_file(path)
        header, stream = read_document(path)
        events = list(stream)
        if header.format == "2.0-xml":
            header.extras.extend(trailing_extras(path))
    except (EpcisReadError, EpcisValidationError, UnicodeDecodeError, ValueError) as exc:
        raise _reject(home, path, [f"not well-formed or not EPCIS: {exc}"]) from None
    if any("not well-formed" in e for e in report.errors):
        raise _reject(home, path, report.errors)
    found = classify(path, list(report.errors), json_document=header.format == "2.0-jsonld")
    deviations = [str(d) for d in found]
    if deviations and policy == "strict":
        raise _reject(
            home, path, [f"{len(deviations)} deviation(s) from {report.schema}:", *deviations]
        )
    file_id = uuid.uuid4().hex
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    event_rows: list[dict[str, object]] = []
    epc_rows: list[dict[str, object]] = []
    for event in events:
        node = event.node
        event_rows.append(
            {
                "file_id": file_id,
                "event_index": event.index,
                "event_type": node.name,
                "event_hash": event_hash(node),
                "event_id": event_id_of(node),
                "event_time": _text(node, "eventTime"),
                "event_time_zone_offset": _text(node, "eventTimeZoneOffset"),
                "action": _text(node, "action"),
                "biz_step": _text(node, "bizStep"),
                "disposition": _text(node, "disposition"),
                "read_point": _text(node, "readPoint"),
                "biz_location": _text(node, "bizLocation"),
                "parent_id": _text(node, "parentID"),
                "lot": _ilmd(node, "lotNumber"),
                "expiry": _ilmd(node, "itemExpirationDate"),
                "source_line": event.line,
                "event_json": node_to_json(node),
            }
        )
        for child in node.children:
            role = _ROLES.get(child.name)
            if role is not None:
                epc_rows.extend(
                    {
                        "file_id": file_id,
                        "event_index": event.index,
                        "role": role,
                        "epc": e.text,
                        "epc_digital_link": canonical_epc(e.text),
                    }
                    for e in child.children
                    if e.text
                )
    master_rows = [
        {
            "file_id": file_id,
            "vocabulary_type": vocabulary.type,
            "element_id": element_id,
            "attribute_id": attribute.name,
            "value": attribute.text or None,
        }
        for vocabulary in header.vocabularies
        for element_id, attributes in vocabulary.elements
        for attribute in attributes
    ]
    deviation_rows = [
        {"file_id": file_id, "line": d.line, "message": d.message, "kind": d.kind} for d in found
    ]
    file_row = {
        "file_id": file_id,
        "file_name": path.name,
        "sha256": digest,
        "format": header.format,
        "schema_version": header.schema_version or None,
        "partner_id": partner_id,
        "policy": policy,
        "sender": header.sender,
        "receiver": header.receiver,
        "events": len(event_rows),
        "deviations": len(deviation_rows),
        "loaded_at": datetime.now(UTC),
    }
    base = inbound_dir(home)
    staging = base / f".staging-{file_id}"
    final = base / f"file={file_id}"
    try:
        for name, rows, schema in (
            ("files", [file_row], INBOUND_FILE_SCHEMA),
            ("events", event_rows, INBOUND_EVENT_SCHEMA),
            ("epcs", epc_rows, INBOUND_EPC_SCHEMA),
            ("masterdata", master_rows, INBOUND_MASTERDATA_SCHEMA),
            ("deviations", deviation_rows, INBOUND_DEVIATION_SCHEMA),
        ):
            write_atomic(staging / f"{name}.parquet", rows_to_table(rows, schema))
        staging.replace(final)  # one rename: the file is loaded whole or not at all
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return InboundResult(file_id, final, header.format, len(event_rows), len(epc_rows), deviations)


__all__ = [
    "INBOUND_TABLES",
    "MAX_BYTES",
    "POLICIES",
    "InboundRefusedError",
    "InboundResult",
    "canonical_epc",
    "ingest_file",
    "node_from_json",
    "node_to_json",
]
