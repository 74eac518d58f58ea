"""Read any EPCIS document (1.2 XML, 2.0 XML, 2.0 JSON-LD) as a header and a stream of
format-neutral events (:class:`epcis.event_hash.Node` trees).

XML is read with ``iterparse`` (events handed out one by one, then dropped: bounded
memory) through a locked-down parser: no DTD, no entity expansion, no network. JSON-LD is
loaded whole (the standard library has no streaming JSON parser). The neutral form is what
the event hash, the converters and the inbound loader share.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lxml import etree

from epcis._lxml import iterparse
from epcis.event_hash import JsonMapper, Node, context_prefixes, node_from_xml
from serialtrace.errors import SerialtraceError

NS_EPCIS_12: Final = "urn:epcglobal:epcis:xsd:1"
NS_EPCIS_20: Final = "urn:epcglobal:epcis:xsd:2"
NS_QUERY_12: Final = "urn:epcglobal:epcis-query:xsd:1"
NS_QUERY_20: Final = "urn:epcglobal:epcis-query:xsd:2"
NS_SBDH: Final = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"

EVENT_TYPES: Final = frozenset(
    {"ObjectEvent", "AggregationEvent", "QuantityEvent", "TransactionEvent",
     "TransformationEvent", "AssociationEvent"}
)  # fmt: skip

#: Parser options for every EPCIS XML we read: nothing is fetched or expanded.
SECURE_XML: Final[dict[str, bool]] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
}


class EpcisReadError(SerialtraceError):
    """An EPCIS document cannot be read (not well-formed, not EPCIS)."""


@dataclass
class Vocabulary:
    """One master-data vocabulary: ``type`` and elements ``(id, attributes)``; every
    attribute is a :class:`Node` named by its attribute id."""

    type: str
    elements: list[tuple[str, list[Node]]] = field(default_factory=list)


@dataclass
class Header:
    """What a document says about itself, in any format."""

    format: str  # "1.2-xml", "2.0-xml", "2.0-jsonld"
    schema_version: str = ""
    creation_date: str | None = None
    sender: str | None = None
    receiver: str | None = None
    instance_id: str | None = None
    vocabularies: list[Vocabulary] = field(default_factory=list)
    extras: list[Node] = field(default_factory=list)
    """Header extension elements (e.g. the GS1 US ``gs1ushc`` guideline version and
    Transaction Statement), namespaced ``{ns}local``."""
    namespaces: dict[str, str] = field(default_factory=dict)
    """prefix -> namespace URI declared by the document (to write extensions back)."""


@dataclass
class SourceEvent:
    index: int  # 0-based position in the document
    node: Node
    line: int | None = None  # XML only


def sniff_format(path: Path) -> str:
    """``"xml"`` or ``"json"`` from the first non-blank byte."""
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"{", b"[")):
        return "json"
    return "xml"


# --- XML --------------------------------------------------------------------------------


def _local(tag: object) -> str:
    return etree.QName(str(tag)).localname if isinstance(tag, str) else ""


def _vocabularies(list_element: etree._Element) -> list[Vocabulary]:
    vocabularies = []
    for vocabulary in list_element:
        if _local(vocabulary.tag) != "Vocabulary":
            continue
        entry = Vocabulary(type=vocabulary.get("type", ""))
        for element in vocabulary.iter():
            if _local(element.tag) != "VocabularyElement":
                continue
            attributes = []
            for attribute in element:
                if _local(attribute.tag) == "attribute":
                    node = node_from_xml(attribute)
                    node.name = attribute.get("id", "")
                    node.children = [c for c in node.children if c.name != "id"]
                    attributes.append(node)
                elif _local(attribute.tag) == "children":
                    for child_id in attribute:
                        if not isinstance(child_id.tag, str):
                            continue
                        attributes.append(Node("children", (child_id.text or "").strip()))
            entry.elements.append((element.get("id", ""), attributes))
        vocabularies.append(entry)
    return vocabularies


def _read_xml_header(element: etree._Element, header: Header) -> None:
    sbdh = f"{{{NS_SBDH}}}"
    for tag, attr in (("Sender", "sender"), ("Receiver", "receiver")):
        found = element.find(f".//{sbdh}{tag}/{sbdh}Identifier")
        if found is not None and found.text:
            setattr(header, attr, found.text.strip())
    found = element.find(f".//{sbdh}InstanceIdentifier")
    if found is not None and found.text:
        header.instance_id = found.text.strip()
    for vocabulary_list in element.iter():
        if _local(vocabulary_list.tag) == "VocabularyList":
            header.vocabularies.extend(_vocabularies(vocabulary_list))
    for child in element.iter():
        if not isinstance(child.tag, str) or etree.QName(child).namespace in (None, NS_SBDH):
            continue
        parent = child.getparent()
        if parent is not None and etree.QName(parent).namespace in (None,):
            header.extras.append(node_from_xml(child))


def read_xml(path: Path, *, huge_tree: bool = False) -> tuple[Header, Iterator[SourceEvent]]:
    """Header and events of an EPCIS XML document (1.0–1.2 or 2.0)."""
    try:
        stream = iterparse(path, events=("start", "end"), huge_tree=huge_tree, **SECURE_XML)
        _event, root = next(stream)
    except etree.XMLSyntaxError as exc:
        raise EpcisReadError(f"{path}: not well-formed XML: {exc}") from exc
    except StopIteration:
        raise EpcisReadError(f"{path}: empty document") from None
    namespace = etree.QName(root).namespace or ""
    if namespace in (NS_EPCIS_20, NS_QUERY_20):
        fmt = "2.0-xml"
    elif namespace in (NS_EPCIS_12, NS_QUERY_12):
        fmt = "1.2-xml"
    else:
        raise EpcisReadError(f"{path}: root namespace {namespace!r} is not an EPCIS namespace")
    header = Header(
        format=fmt,
        schema_version=root.get("schemaVersion", ""),
        creation_date=root.get("creationDate"),
        namespaces={k: v for k, v in root.nsmap.items() if k},
    )
    # The header precedes the body: read it eagerly so the header is complete on return.
    events = _xml_events(path, stream, header)
    first = next(events, None)

    def all_events() -> Iterator[SourceEvent]:
        if first is not None:
            yield first
            yield from events

    return header, all_events()


def _xml_events(
    path: Path,
    stream: Iterator[tuple[str, etree._Element]],
    header: Header,
) -> Iterator[SourceEvent]:
    index = 0
    try:
        for kind, element in stream:
            if kind != "end":
                continue
            name = _local(element.tag)
            parent = element.getparent()
            parent_name = _local(parent.tag) if parent is not None else ""
            if name == "EPCISHeader":
                _read_xml_header(element, header)
                element.clear()
            elif name in EVENT_TYPES and (
                parent_name == "EventList"
                or (parent_name == "extension" and parent is not None and _in_event_list(parent))
            ):
                line: Any = element.sourceline
                yield SourceEvent(index, node_from_xml(element), line if line else None)
                index += 1
                element.clear()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
    except etree.XMLSyntaxError as exc:
        raise EpcisReadError(f"{path}: not well-formed XML: {exc}") from exc


def trailing_extras(path: Path) -> list[Node]:
    """Namespaced elements at document level after ``EPCISBody`` (where EPCIS 2.0 XML,
    whose header admits no foreign elements, carries e.g. the DSCSA Transaction Statement).
    Reads the whole file (streamed)."""
    extras: list[Node] = []
    try:
        for _kind, element in iterparse(path, events=("end",), **SECURE_XML):
            parent = element.getparent()
            if parent is None:
                continue
            if parent.getparent() is None:
                namespace = etree.QName(element).namespace if isinstance(element.tag, str) else None
                if namespace and _local(element.tag) not in ("EPCISHeader", "EPCISBody"):
                    extras.append(node_from_xml(element))
                element.clear()
    except etree.XMLSyntaxError as exc:
        raise EpcisReadError(f"{path}: not well-formed XML: {exc}") from exc
    return extras


def _in_event_list(element: etree._Element) -> bool:
    parent = element.getparent()
    return parent is not None and _local(parent.tag) == "EventList"


# --- JSON-LD ----------------------------------------------------------------------------


def _json_vocabularies(header: dict[str, Any], mapper: JsonMapper) -> list[Vocabulary]:
    master = header.get("epcisMasterData", {}) if isinstance(header, dict) else {}
    result = []
    for vocabulary in master.get("vocabularyList", []) if isinstance(master, dict) else []:
        entry = Vocabulary(type=str(vocabulary.get("type", "")))
        for element in vocabulary.get("vocabularyElementList", []):
            attributes = []
            for attribute in element.get("attributes", []):
                value = attribute.get("attribute")
                if isinstance(value, dict):
                    node = mapper.nodes("attribute", value)[0]
                else:
                    node = Node("attribute", mapper.value(value) if value is not None else "")
                node.name = mapper.key(str(attribute.get("id", "")))
                attributes.append(node)
            for child in element.get("children", []):
                attributes.append(Node("children", str(child)))
            entry.elements.append((str(element.get("id", "")), attributes))
        result.append(entry)
    return result


_JSON_DOC_KEYS: Final = frozenset(
    {"@context", "id", "type", "schemaVersion", "creationDate", "epcisHeader", "epcisBody",
     "sender", "receiver", "instanceIdentifier", "rdfs:comment", "comment"}
)  # fmt: skip


def read_json_document(
    document: dict[str, Any], path: Path
) -> tuple[Header, Iterator[SourceEvent]]:
    if not isinstance(document, dict) or document.get("type") not in (
        "EPCISDocument",
        "EPCISQueryDocument",
    ):
        raise EpcisReadError(f"{path}: not an EPCIS JSON-LD document (type must be EPCISDocument)")
    context = document.get("@context")
    prefixes = context_prefixes(context)
    mapper = JsonMapper(prefixes)
    header = Header(
        format="2.0-jsonld",
        schema_version=str(document.get("schemaVersion", "")),
        creation_date=document.get("creationDate"),
        sender=document.get("sender"),
        receiver=document.get("receiver"),
        instance_id=document.get("instanceIdentifier"),
        vocabularies=_json_vocabularies(document.get("epcisHeader", {}), mapper),
        namespaces=dict(prefixes),
    )
    for key, value in document.items():
        if key not in _JSON_DOC_KEYS:
            header.extras.extend(mapper.nodes(key, value))
    epcis_header = document.get("epcisHeader", {})
    if isinstance(epcis_header, dict):
        for key, value in epcis_header.items():
            if key != "epcisMasterData":
                header.extras.extend(mapper.nodes(key, value))
    body = document.get("epcisBody", {})
    if not isinstance(body, dict):
        raise EpcisReadError(f"{path}: epcisBody must be an object")
    if "queryResults" in body:
        events = body["queryResults"].get("resultsBody", {}).get("eventList", [])
    elif "event" in body:
        events = [body["event"]]
    else:
        events = body.get("eventList", [])
    if not isinstance(events, list):
        raise EpcisReadError(f"{path}: eventList must be an array")

    def stream() -> Iterator[SourceEvent]:
        for index, event in enumerate(events):
            if not isinstance(event, dict):
                raise EpcisReadError(f"{path}: event #{index + 1} is not an object")
            yield SourceEvent(index, mapper.event(event))

    return header, stream()


def read_json(path: Path) -> tuple[Header, Iterator[SourceEvent]]:
    try:
        document = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EpcisReadError(f"{path}: not well-formed JSON: {exc}") from exc
    return read_json_document(document, path)


def read_document(path: Path) -> tuple[Header, Iterator[SourceEvent]]:
    """Header and events of any EPCIS document (format sniffed from the content)."""
    path = Path(path)
    try:
        kind = sniff_format(path)
    except OSError as exc:
        raise EpcisReadError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    return read_json(path) if kind == "json" else read_xml(path)


def read_events(path: Path) -> Iterator[SourceEvent]:
    """The events of any EPCIS document."""
    return read_document(path)[1]


__all__ = [
    "EVENT_TYPES",
    "SECURE_XML",
    "EpcisReadError",
    "Header",
    "SourceEvent",
    "Vocabulary",
    "read_document",
    "read_events",
    "read_json",
    "read_json_document",
    "read_xml",
    "sniff_format",
    "trailing_extras",
]
