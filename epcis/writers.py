"""Streaming writers for EPCIS 1.2 XML, 2.0 XML and 2.0 JSON-LD documents of neutral events,
each validated before the file is placed.

Events are consumed one at a time: XML's shell goes through ``lxml.etree.xmlfile`` and
each event is written as text (:func:`epcis.formats.to_xml_text`: the bytes lxml would
write for its element), JSON-LD is written event by event with ``json.dumps``; memory does
not grow with the document. EPCIS 2.0 event IDs are the CBV 2.0 event hashes
(:mod:`epcis.event_hash`), computed from the final event.

Validation: XML against the official XSD of the conformance kit (streamed, see
:mod:`epcis.validate`; a document over 8 MiB by a second process while it is written,
:mod:`epcis.parallel_xsd`); JSON-LD against the official JSON schema, event by event while
writing (once per event shape, :mod:`epcis.jsonschema_check`) and the document shell once.
The document is written to a hidden temporary file beside ``path`` and renamed into place
only when it is complete and valid; an invalid document raises
:class:`OutboundInvalidError` naming the event (its number and eventID) and the rule, and
leaves nothing behind.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final, cast

from lxml import etree

from epcis._lxml import xmlfile
from epcis.documents import NS_EPCIS_12, NS_EPCIS_20, NS_SBDH, Header, Vocabulary, read_events
from epcis.event_hash import Node, event_hash
from epcis.formats import (
    Prefixes,
    UnrepresentableError,
    _new_element,
    event_id_of,
    to_json,
    to_xml_text,
)
from epcis.jsonschema_check import check_document_shell, check_event
from epcis.model import DocumentHeader, Event
from epcis.neutral import event_node, header_of, self_contained
from epcis.parallel_xsd import VALID, ConcurrentValidator
from epcis.validate import (
    OWN_DOCUMENT_TAGS,
    SCHEMA_BY_NAMESPACE,
    EpcisValidationError,
    validate_epcis_file,
)
from serialtrace.errors import SerialtraceError, ValidationError
from serialtrace.settings import require_conformance_file

FORMATS: Final = ("1.2-xml", "2.0-xml", "2.0-jsonld")
SUFFIX: Final[dict[str, str]] = {
    "1.2-xml": ".epcis-1.2.xml",
    "2.0-xml": ".epcis-2.0.xml",
    "2.0-jsonld": ".epcis-2.0.jsonld",
}
EPCIS_CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
NS_CBVMDA: Final = "urn:epcglobal:cbv:mda"
NS_GS1USHC: Final = "http://epcis.gs1us.org/hc/ns"
NS_SERIALTRACE: Final = "urn:serialtrace:epcis:1"
_KNOWN_PREFIXES: Final[dict[str, str]] = {
    "cbvmda": NS_CBVMDA,
    "gs1ushc": NS_GS1USHC,
    "st": NS_SERIALTRACE,
}


class OutboundInvalidError(SerialtraceError):
    """An outbound document failed validation; the message names the event and the rule."""


@dataclass(frozen=True, slots=True)
class DocumentStats:
    path: Path
    format: str
    events: int
    epcs: int
    bytes_written: int
    event_ids: int  # events given an eventID


def _epc_count(node: Node) -> int:
    return sum(
        len(c.children)
        for c in node.children
        if c.name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
    )


def _event_id(node: Node, ids: str) -> str | None:
    """``ids``: ``hash`` (always the CBV 2.0 hash), ``keep`` (the event's own, else the hash),
    ``none`` (the event's own, if any)."""
    own = event_id_of(node)
    if ids == "hash":
        return event_hash(node)
    if ids == "keep":
        return own or event_hash(node)
    return own


def _sbdh_authority(identifier: str) -> str:
    return "GLN" if identifier.isdigit() else "SGLN"


# --- XML --------------------------------------------------------------------------------


def _nsmap(header: Header, namespace: str) -> dict[str | None, str]:
    nsmap: dict[str | None, str] = {"epcis": namespace, "sbdh": NS_SBDH}
    for prefix, uri in {**_KNOWN_PREFIXES, **header.namespaces}.items():
        if prefix in ("epcis", "sbdh", "xsi") or uri in nsmap.values():
            continue
        if uri.startswith(("urn:epcglobal:epcis", "http://www.w3.org/")):
            continue
        nsmap[prefix] = uri
    return nsmap


def _node_element(node: Node, parent: etree._Element | None = None) -> etree._Element:
    element = _new_element(parent, node.name)
    if node.text:
        element.text = node.text
    for child in node.children:
        _node_element(child, element)
    return element


def _vocabulary_xml(vocabulary: Vocabulary) -> etree._Element:
    element = etree.Element("Vocabulary", {"type": vocabulary.type})
    elements = etree.SubElement(element, "VocabularyElementList")
    for key, attributes in vocabulary.elements:
        entry = etree.SubElement(elements, "VocabularyElement", {"id": key})
        children = [a for a in attributes if a.name == "children"]
        for attribute in attributes:
            if attribute.name == "children":
                continue
            item = etree.SubElement(entry, "attribute", {"id": attribute.name})
            if attribute.text:
                item.text = attribute.text
            for child in attribute.children:
                _node_element(child, item)
        if children:
            holder = etree.SubElement(entry, "children")
            for child in children:
                etree.SubElement(holder, "id").text = child.text
    return element


def _sbdh(header: Header) -> etree._Element:
    s = f"{{{NS_SBDH}}}"
    sbdh = etree.Element(s + "StandardBusinessDocumentHeader", nsmap={"sbdh": NS_SBDH})
    etree.SubElement(sbdh, s + "HeaderVersion").text = "1.0"
    for tag, value in (("Sender", header.sender), ("Receiver", header.receiver)):
        party = etree.SubElement(sbdh, s + tag)
        assert value is not None
        identifier = etree.SubElement(
            party, s + "Identifier", {"Authority": _sbdh_authority(value)}
        )
        identifier.text = value
    ident = etree.SubElement(sbdh, s + "DocumentIdentification")
    etree.SubElement(ident, s + "Standard").text = "EPCglobal"
    etree.SubElement(ident, s + "TypeVersion").text = "1.0" if header.format == "1.2-xml" else "2.0"
    etree.SubElement(ident, s + "InstanceIdentifier").text = header.instance_id or "unknown"
    etree.SubElement(ident, s + "Type").text = "Events"
    etree.SubElement(ident, s + "CreationDateAndTime").text = header.creation_date or ""
    return sbdh


def _header_xml(header: Header, version: str) -> etree._Element | None:
    has_sbdh = header.sender is not None and header.receiver is not None
    extras_in_header = version == "1.2" and header.extras
    if not (has_sbdh or header.vocabularies or extras_in_header):
        return None
    if version == "1.2" and not has_sbdh:
        raise UnrepresentableError(
            "EPCIS 1.2 header: master data or header extensions need an SBDH with sender and "
            "receiver (give --sender/--receiver or a source that has them)"
        )
    element = etree.Element("EPCISHeader")
    if has_sbdh:
        element.append(_sbdh(header))
    if header.vocabularies:
        master = etree.SubElement(etree.SubElement(element, "extension"), "EPCISMasterData")
        vocabularies = etree.SubElement(master, "VocabularyList")
        for vocabulary in header.vocabularies:
            vocabularies.append(_vocabulary_xml(vocabulary))
    if version == "1.2":
        for extra in header.extras:
            element.append(_node_element(extra))
    return element


@contextmanager
def _atomic(path: Path) -> Iterator[tuple[Path, BinaryIO]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with partial.open("wb") as raw:
            yield partial, raw
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _xml_shell(header: Header, version: str) -> tuple[bytes, bytes]:
    """The document around its events, written by lxml (declarations, header, master data,
    2.0 header extensions): the bytes before the first event and after the last."""
    namespace = NS_EPCIS_12 if version == "1.2" else NS_EPCIS_20
    marker = f"events-{uuid.uuid4().hex}"
    buffer = io.BytesIO()
    buffer.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    with xmlfile(cast(BinaryIO, buffer), encoding="UTF-8") as xf:
        attrib = {"schemaVersion": version, "creationDate": header.creation_date or ""}
        with xf.element(f"{{{namespace}}}EPCISDocument", attrib, nsmap=_nsmap(header, namespace)):
            head = _header_xml(header, version)
            if head is not None:
                xf.write("\n  ", head)
            xf.write("\n  ")
            with xf.element("EPCISBody"):
                xf.write("\n    ")
                with xf.element("EventList"):
                    xf.write(marker)
                    xf.write("\n    ")
                xf.write("\n  ")
            if version == "2.0":
                for extra in header.extras:
                    xf.write("\n  ", _node_element(extra))
            xf.write("\n")
    buffer.write(b"\n")
    before, _, after = buffer.getvalue().partition(marker.encode("ascii"))
    return before, after


#: Event text gathered before one write to the file.
_WRITE_BATCH_CHARS: Final = 1 << 20


def _write_xml(
    raw: BinaryIO,
    header: Header,
    events: Iterable[Node],
    version: str,
    ids: str,
    tee: ConcurrentValidator,
) -> tuple[int, int, int]:
    """The shell from lxml, each event as text (:func:`epcis.formats.to_xml_text`, the
    same bytes lxml writes for the event's element), written in batches of about 1 MiB
    (each also handed to the concurrent XSD validation, ``tee``)."""
    before, after = _xml_shell(header, version)
    tee.write(raw, before)
    count = epcs = with_id = 0
    pending: list[str] = []
    size = 0
    for node in events:
        event_id = _event_id(node, ids)
        try:
            text = to_xml_text(node, event_id, version)
        except UnrepresentableError as exc:
            raise UnrepresentableError(f"event #{count + 1}: {exc}") from exc
        pending.append("\n      ")
        pending.append(text)
        size += len(text)
        if size >= _WRITE_BATCH_CHARS:
            tee.write(raw, "".join(pending).encode("utf-8"))
            pending.clear()
            size = 0
        count += 1
        epcs += _epc_count(node)
        with_id += event_id is not None
    tee.write(raw, "".join(pending).encode("utf-8"))
    tee.write(raw, after)
    return count, epcs, with_id


def _explain_xml(path: Path) -> str:
    """The first XSD error, with the event it sits in (number and eventID)."""
    report = validate_epcis_file(path)
    if report.valid:
        return "valid"
    line = report.first_error_line or 0
    number = 0
    event_id: str | None = None
    for source in read_events(path):
        if (source.line or 0) > line:
            break
        number = source.index + 1
        event_id = event_id_of(source.node)
    where = "the document header"
    if number:
        where = f"event #{number}" + (f" ({event_id})" if event_id else "")
    return f"{where}: {report.errors[0]} [{report.schema.name}]"


# --- JSON-LD ----------------------------------------------------------------------------


def _vocabulary_json(vocabulary: Vocabulary, prefixes: Prefixes) -> dict[str, Any]:
    elements = []
    for key, attributes in vocabulary.elements:
        entry: dict[str, Any] = {"id": key}
        attrs = []
        for attribute in attributes:
            if attribute.name == "children":
                continue
            item: dict[str, Any] = {"id": attribute.name}
            if attribute.children:
                item["attribute"] = {prefixes.curie(c.name): c.text for c in attribute.children}
            else:
                item["attribute"] = attribute.text
            attrs.append(item)
        if attrs:
            entry["attributes"] = attrs
        children = [a.text for a in attributes if a.name == "children"]
        if children:
            entry["children"] = children
        elements.append(entry)
    return {"type": vocabulary.type, "vocabularyElementList": elements}


def _extra_json(node: Node, prefixes: Prefixes) -> Any:
    if not node.children:
        return node.text
    return {prefixes.curie(c.name): _extra_json(c, prefixes) for c in node.children}


#: Terms GS1's context defines itself, and namespaces that are XML plumbing: never
#: redefined in an inline context.
_CONTEXT_TERMS = frozenset({"epcis", "cbv", "cbvmda", "gs1", "rdfs", "rdf", "owl", "xsd", "dcterms",
                            "schema", "sbdh", "xsi", "id", "type"})  # fmt: skip


def _json_prefixes(namespaces: dict[str, str]) -> dict[str, str]:
    return {
        prefix: uri
        for prefix, uri in namespaces.items()
        if prefix not in _CONTEXT_TERMS
        and not uri.startswith(
            ("urn:epcglobal:epcis", "http://www.unece.org/", "http://www.w3.org/")
        )
    }


def _write_jsonld(
    raw: BinaryIO, header: Header, events: Iterable[Node], ids: str
) -> tuple[int, int, int]:
    prefixes = Prefixes({**_KNOWN_PREFIXES, **_json_prefixes(header.namespaces)})
    shell: dict[str, Any] = {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": header.creation_date,
    }
    if header.instance_id:
        shell["id"] = (
            f"urn:uuid:{header.instance_id}"
            if ":" not in header.instance_id
            else (header.instance_id)
        )
        shell["instanceIdentifier"] = header.instance_id
    if header.sender:
        shell["sender"] = header.sender
    if header.receiver:
        shell["receiver"] = header.receiver
    epcis_header: dict[str, Any] = {}
    if header.vocabularies:
        epcis_header["epcisMasterData"] = {
            "vocabularyList": [_vocabulary_json(v, prefixes) for v in header.vocabularies]
        }
    for extra in header.extras:
        epcis_header[prefixes.curie(extra.name)] = _extra_json(extra, prefixes)
    if epcis_header:
        shell["epcisHeader"] = epcis_header
    context = prefixes.context()
    shell["@context"] = [EPCIS_CONTEXT, context] if context else [EPCIS_CONTEXT]
    declared = set(context) | {"cbvmda"}
    problem = check_document_shell(shell)
    if problem is not None:
        raise OutboundInvalidError(f"the document header: {problem} [EPCIS-JSON-Schema.json]")
    text = json.dumps(shell, ensure_ascii=False, indent=1)
    raw.write(text[: text.rindex("}")].rstrip().encode("utf-8"))
    raw.write(b',\n "epcisBody": {"eventList": [')
    count = epcs = with_id = 0
    for node in events:
        event_id = _event_id(node, ids)
        prefixes.used.clear()
        try:
            event = to_json(node, event_id, prefixes)
        except UnrepresentableError as exc:
            raise UnrepresentableError(f"event #{count + 1}: {exc}") from exc
        fresh = prefixes.used - declared
        if fresh:  # a namespace the header did not declare: declared on the event itself
            local = {p: u for u, p in prefixes.by_uri.items() if p in fresh}
            event = {"@context": [local], **event}
        problem = check_event(event)
        if problem is not None:
            where = f"event #{count + 1}" + (f" ({event_id})" if event_id else "")
            raise OutboundInvalidError(f"{where}: {problem} [EPCIS-JSON-Schema.json]")
        raw.write(b"\n  " if count == 0 else b",\n  ")
        raw.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        count += 1
        epcs += _epc_count(node)
        with_id += event_id is not None
    raw.write(b"\n ]}\n}\n")
    return count, epcs, with_id


# --- entry point ------------------------------------------------------------------------


def write_document(
    path: Path,
    header: Header,
    events: Iterable[Node],
    fmt: str,
    *,
    ids: str = "hash",
) -> DocumentStats:
    """Write ``events`` as ``fmt`` (``1.2-xml``, ``2.0-xml``, ``2.0-jsonld``) to ``path``,
    validated; ``ids`` chooses the eventIDs (``hash`` for our own documents, ``keep`` when
    converting someone else's). 1.2 documents carry an eventID only if the event had one
    (``ids`` is then ``none``: the hash is a 2.0 notion)."""
    if fmt not in FORMATS:
        raise SerialtraceError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    path = Path(path)
    target = Header(**{**header.__dict__, "format": fmt})
    with _atomic(path) as (partial, raw):
        if fmt == "2.0-jsonld":
            count, epcs, with_id = _write_jsonld(raw, target, events, ids)
        else:
            version = "1.2" if fmt == "1.2-xml" else "2.0"
            namespace = NS_EPCIS_12 if version == "1.2" else NS_EPCIS_20
            schema = require_conformance_file(SCHEMA_BY_NAMESPACE[namespace])
            tee = ConcurrentValidator(partial, schema, OWN_DOCUMENT_TAGS)
            try:
                count, epcs, with_id = _write_xml(
                    raw, target, events, version, "none" if version == "1.2" else ids, tee
                )
                raw.flush()
                verdict = tee.verdict()
            finally:
                tee.close()
            if verdict != VALID:  # invalid, or validated here (small file, no child)
                try:
                    report = validate_epcis_file(partial, own_document=True)
                except EpcisValidationError as exc:
                    raise OutboundInvalidError(str(exc)) from exc
                if not report.valid:
                    raise OutboundInvalidError(
                        f"{path.name} is not valid EPCIS {fmt}: {_explain_xml(partial)}"
                    )
                if verdict is not None:  # the child and libxml2 here disagree: never "valid"
                    raise OutboundInvalidError(
                        f"{path.name} is not valid EPCIS {fmt}: {verdict} [{schema.name}]"
                    )
        raw.flush()
    size = partial.stat().st_size
    partial.replace(path)
    return DocumentStats(path, fmt, count, epcs, size, with_id)


def write_events(
    path: Path,
    header: DocumentHeader,
    events: Iterable[Event],
    fmt: str,
    *,
    check_master_data: bool = True,
) -> DocumentStats:
    """Write typed events (:mod:`epcis.model`) with their typed header as ``fmt``: the one
    writer path of our own documents (shipping, batch, decommission files). With
    ``check_master_data`` (the default, the DSCSA profile wants a self-contained file)
    every SGLN and SGTIN class used must be in the header's master data
    (:func:`epcis.neutral.self_contained`); the events are still streamed one by one."""
    if not isinstance(header, DocumentHeader):
        raise ValidationError("header", "must be a DocumentHeader")
    checked = self_contained(header, events) if check_master_data else events
    return write_document(path, header_of(header, fmt), (event_node(e) for e in checked), fmt)


__all__ = [
    "FORMATS",
    "SUFFIX",
    "DocumentStats",
    "OutboundInvalidError",
    "write_document",
    "write_events",
]
