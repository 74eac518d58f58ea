"""CBV 2.0 event hash (``ni:///sha-256;<hex>?ver=CBV2.0``): one identity for an event
whatever its representation (EPCIS 1.2 XML, 2.0 XML, 2.0 JSON-LD).

An event is first turned into a neutral tree of :class:`Node` (name, text, children) — from
an XML element (1.2 or 2.0: ``extension`` / ``baseExtension`` wrappers dissolved,
attributes as children) or from a JSON-LD event object (list wrappers of the XML model
restored, bare CBV words and CURIEs expanded). The pre-hash string walks the canonical
field order of the CBV 2.0 algorithm (:data:`FIELD_ORDER`): ``key=value`` pairs with no
separator, members of a list sorted byte-wise, timestamps in UTC with milliseconds, CBV
values as web URIs, EPCs as canonical Digital Links, numbers without trailing zeros.
Everything not in the order (ILMD, the business transaction / source / destination lists,
user extensions) follows, sorted. ``eventID``, ``recordTime`` and ``errorDeclaration`` are
not hashed. SHA-256 of the UTF-8 pre-hash string gives the ID.

Reference: GS1 CBV 2.0 §8.9 and the ``epcis-event-hash-generator`` test vectors (used as
the test oracle in tests/epcis/test_event_hash.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from lxml import etree

from epcis.canonical import (
    SGTIN,
    VALUE_PREFIXES,
    canonical_time,
    canonical_value,
    sgtin_link_head,
)

#: Fields never hashed.
IGNORED: Final = frozenset({"recordTime", "eventID", "errorDeclaration", "type"})
#: Lists whose members are (type, value) pairs.
TYPED_LISTS: Final = {"bizTransactionList": "bizTransaction", "sourceList": "source",
                      "destinationList": "destination"}  # fmt: skip

_QTY: Final = (("epcClass", None), ("quantity", None), ("uom", None))
Order = tuple[tuple[str, "Order | None"], ...]

#: Canonical order (CBV 2.0 event hash). The typed lists and ILMD are hashed with the
#: user extensions (after this order, sorted), as the reference vectors do.
FIELD_ORDER: Final[Order] = (
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", (("epc", None),)),
    ("inputEPCList", (("epc", None),)),
    ("childEPCs", (("epc", None),)),
    ("quantityList", (("quantityElement", _QTY),)),
    ("childQuantityList", (("quantityElement", _QTY),)),
    ("inputQuantityList", (("quantityElement", _QTY),)),
    ("outputEPCList", (("epc", None),)),
    ("outputQuantityList", (("quantityElement", _QTY),)),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", (("set", None), ("unset", None))),
    ("readPoint", (("id", None),)),
    ("bizLocation", (("id", None),)),
    (
        "sensorElementList",
        (
            (
                "sensorElement",
                (
                    (
                        "sensorMetadata",
                        tuple(
                            (name, None)
                            for name in (
                                "time",
                                "startTime",
                                "endTime",
                                "deviceID",
                                "deviceMetadata",
                                "rawData",
                                "dataProcessingMethod",
                                "bizRules",
                            )
                        ),
                    ),
                    (
                        "sensorReport",
                        tuple(
                            (name, None)
                            for name in (
                                "type",
                                "exception",
                                "deviceID",
                                "deviceMetadata",
                                "rawData",
                                "dataProcessingMethod",
                                "time",
                                "microorganism",
                                "chemicalSubstance",
                                "value",
                                "component",
                                "stringValue",
                                "booleanValue",
                                "hexBinaryValue",
                                "uriValue",
                                "minValue",
                                "maxValue",
                                "meanValue",
                                "sDev",
                                "percRank",
                                "percValue",
                                "uom",
                                "coordinateReferenceSystem",
                            )
                        ),
                    ),
                ),
            ),
        ),
    ),
)


@dataclass
class Node:
    """One field of an event: name (``{ns}local`` for extensions), text, children.

    ``pair_type`` is set on members of the typed lists (bizTransaction, source,
    destination): their ``type`` is hashed before their value.
    """

    name: str
    text: str = ""
    children: list[Node] = field(default_factory=list)
    pair_type: str | None = None


# --- pre-hash -------------------------------------------------------------------------

#: The CBV master-data namespace is written ``urn:epcglobal:cbv:mda`` in XML and expands to
#: ``urn:epcglobal:cbv:mda:`` through GS1's JSON-LD context. The neutral form keeps the XML
#: spelling; the hash uses the context's (as the reference vectors do), so an ILMD lot
#: hashes the same from XML and JSON-LD.
MDA_XML: Final = "{urn:epcglobal:cbv:mda}"
MDA_LD: Final = "{urn:epcglobal:cbv:mda:}"


def neutral_name(name: str) -> str:
    return MDA_XML + name[len(MDA_LD) :] if name.startswith(MDA_LD) else name


def _hash_name(name: str) -> str:
    return MDA_LD + name[len(MDA_XML) :] if name.startswith(MDA_XML) else name


def _is_time(name: str) -> bool:
    lower = name.lower()
    return "time" in lower and "offset" not in lower


def _generic(node: Node) -> str:
    """Fields outside the canonical order: name, ``=value``, then sorted children.
    ``xsi:`` attributes (``xsi:nil``) are schema plumbing, not data: not hashed."""
    if node.name.startswith(XSI):
        return ""
    if node.pair_type is not None:
        return f"type={canonical_value(node.pair_type)}{node.name}={canonical_value(node.text)}"
    text = node.text.strip()
    head = _hash_name(node.name) + ("=" + canonical_value(text) if text else "")
    return head + "".join(sorted(_generic(child) for child in node.children))


@dataclass(frozen=True, slots=True)
class _Field:
    """One entry of a canonical order, with what the pre-hash needs precomputed."""

    name: str
    prefix: str  # ``name=``
    is_time: bool
    sub: _Plan | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """A canonical order compiled once: its fields and the names they claim."""

    fields: tuple[_Field, ...]
    names: frozenset[str]
    epc_list: bool  # exactly ``(("epc", None),)``: the hot path of EPC lists
    rank: dict[str, int]  # name -> position in the order
    by_name: dict[str, _Field]


def _compile(order: Order) -> _Plan:
    fields = tuple(
        _Field(name, name + "=", _is_time(name), None if sub is None else _compile(sub))
        for name, sub in order
    )
    return _Plan(
        fields,
        frozenset(name for name, _ in order),
        order == (("epc", None),),
        {entry.name: index for index, entry in enumerate(fields)},
        {entry.name: entry for entry in fields},
    )


def _one_product_epcs(children: list[Node]) -> str | None:
    """Pre-hash of an EPC list whose members are all SGTINs of one product with plain
    serials (the common case: a case or a lot), in a few whole-list string operations;
    ``None`` if the list is anything else. Same result as the member-by-member loop: the
    members share the Digital Link head, so they sort as their serials do."""
    texts = [child.text for child in children if child.name == "epc"]
    if len(texts) != len(children) or not texts or not texts[0].startswith(SGTIN):
        return None
    head = texts[0].rpartition(".")[0]
    link = sgtin_link_head(head[len(SGTIN) :])
    if link is None:
        return None
    joined = "\n" + "\n".join(texts)
    if joined.count("\n") != len(texts) or joined.count("\n" + head + ".") != len(texts):
        return None  # a member with a line break, or of another product
    serials = joined.replace("\n" + head + ".", "\n")
    if "\n\n" in serials or serials.endswith("\n"):
        return None  # an empty serial
    flat = serials.replace("\n", "")
    if not (flat.isascii() and flat.isalnum()):
        return None  # a serial to percent-encode, or with a dot or a space
    members = serials[1:].split("\n")
    members.sort()
    lead = "epc=" + link
    return lead + lead.join(members)


def _epc_values(children: list[Node]) -> tuple[str, list[Node]]:
    """Pre-hash of an EPC list (``epc`` members, each a canonical Digital Link)."""
    fast = _one_product_epcs(children)
    if fast is not None:
        return fast, []
    values: list[str] = []
    rest: list[Node] = []
    for child in children:
        if child.name != "epc":
            if not child.name.startswith(XSI):
                rest.append(child)
            continue
        text = child.text.strip()
        if not text:  # (an epc has no sub-fields in the order: its children are not hashed)
            continue
        if text.startswith(SGTIN):  # canonical_value's own fast path, inlined: the hot loop
            head, _, serial = text[17:].rpartition(".")
            if serial.isascii() and serial.isalnum():
                link = sgtin_link_head(head)
                if link is not None:
                    values.append("epc=" + link + serial)
                    continue
        values.append("epc=" + canonical_value(text))
    values.sort()
    return "".join(values), rest


def _ordered(children: list[Node], plan: _Plan) -> tuple[str, list[Node]]:
    """Pre-hash of ``children`` along ``plan``; also return the children left over.

    Equivalent to walking the order and, for each of its names, collecting the children of
    that name in document order (sorted within the name); done in one pass over the
    children grouped by name.
    """
    if plan.epc_list:
        return _epc_values(children)
    by_name: dict[str, list[Node]] = {}
    rest: list[Node] = []
    names = plan.names
    for child in children:
        name = child.name
        if name in names:
            group = by_name.get(name)
            if group is None:
                by_name[name] = [child]
            else:
                group.append(child)
        elif not name.startswith(XSI):
            rest.append(child)
    if not by_name:
        return "", rest
    parts: list[str] = []
    present = sorted(by_name, key=plan.rank.__getitem__) if len(by_name) > 1 else by_name
    for name in present:
        entry = plan.by_name[name]
        group = by_name[name]
        values: list[str] = []
        for child in group:
            text = child.text.strip()
            if text:
                text = canonical_time(text) if entry.is_time else canonical_value(text)
            inner = ""
            if entry.sub is not None:
                inner_ordered, left = _ordered(child.children, entry.sub)
                inner = inner_ordered + "".join(sorted(_generic(r) for r in left))
            if text or inner:
                values.append(entry.prefix + text + inner if text else entry.name + inner)
        if len(values) > 1:
            values.sort()
        parts.extend(values)
    return "".join(parts), rest


_EVENT_PLAN: Final = _compile(FIELD_ORDER)


def prehash(event: Node) -> str:
    """The pre-hash string of one event."""
    ordered, rest = _ordered(event.children, _EVENT_PLAN)
    extras = sorted(_generic(child) for child in rest if child.name not in IGNORED)
    return f"eventType={event.name}{ordered}{''.join(extras)}"


def hash_id(prehash_string: str) -> str:
    digest = hashlib.sha256(prehash_string.encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"


def event_hash(event: Node) -> str:
    """``ni:///sha-256;…?ver=CBV2.0`` of one event."""
    return hash_id(prehash(event))


# --- from XML -------------------------------------------------------------------------

_WRAPPERS: Final = frozenset({"extension", "baseExtension"})
XSI: Final = "{http://www.w3.org/2001/XMLSchema-instance}"


_EPCIS_NS: Final = ("{urn:epcglobal:epcis:xsd:1}", "{urn:epcglobal:epcis:xsd:2}")


def _xml_name(tag: str) -> str:
    """``{ns}local`` for extensions, ``local`` for EPCIS fields — also when a document puts
    them in the EPCIS namespace through a default ``xmlns`` (seen from some partners)."""
    if tag.startswith(_EPCIS_NS):
        return tag.split("}", 1)[1]
    return neutral_name(tag)


def _expand_prefixed(value: str) -> str:
    for prefix, uri in VALUE_PREFIXES.items():
        if value.startswith(prefix):
            return uri + value[len(prefix) :]
    return value


def _xml_children(element: etree._Element) -> Iterable[etree._Element]:
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        if _xml_name(child.tag) in _WRAPPERS:
            yield from _xml_children(child)
        else:
            yield child


def node_from_xml(element: etree._Element) -> Node:
    """Neutral tree of an EPCIS 1.2 or 2.0 XML event element."""
    name = _xml_name(str(element.tag))
    text = _expand_prefixed((element.text or "").strip())
    parent = element.getparent()
    parent_name = _xml_name(str(parent.tag)) if parent is not None else ""
    if parent_name in TYPED_LISTS and TYPED_LISTS[parent_name] == name:
        kind = element.get("type")
        return Node(name, text, [], pair_type=_expand_prefixed(kind) if kind else None)
    children = [
        Node(_xml_name(str(key)), _expand_prefixed(str(value)))
        for key, value in element.attrib.items()
        # xsi:type & co. are schema hints whose QName values would lose their prefix;
        # xsi:nil is kept (written back, never hashed)
        if not str(key).startswith(XSI) or key == XSI + "nil"
    ]
    children.extend(node_from_xml(child) for child in _xml_children(element))
    return Node(name, text, children)


# --- from JSON-LD ---------------------------------------------------------------------

#: JSON list key -> XML member element name.
LIST_MEMBERS: Final[dict[str, str]] = {
    "epcList": "epc",
    "childEPCs": "epc",
    "inputEPCList": "epc",
    "outputEPCList": "epc",
    "quantityList": "quantityElement",
    "childQuantityList": "quantityElement",
    "inputQuantityList": "quantityElement",
    "outputQuantityList": "quantityElement",
    "sensorElementList": "sensorElement",
    "bizTransactionList": "bizTransaction",
    "sourceList": "source",
    "destinationList": "destination",
    "correctiveEventIDs": "correctiveEventID",
}

CBV_WEB: Final = "https://ref.gs1.org/cbv/"
GS1_VOC: Final = "https://gs1.org/voc/"
#: JSON keys whose bare-word values are CBV / GS1 vocabulary terms.
BARE_WORDS: Final[dict[str, str]] = {
    "bizStep": CBV_WEB + "BizStep-",
    "disposition": CBV_WEB + "Disp-",
    "set": CBV_WEB + "Disp-",
    "unset": CBV_WEB + "Disp-",
    "reason": CBV_WEB + "ER-",
}
_TYPE_WORDS: Final[dict[str, str]] = {
    "bizTransaction": CBV_WEB + "BTT-",
    "source": CBV_WEB + "SDT-",
    "destination": CBV_WEB + "SDT-",
}
_SENSOR_WORDS: Final = frozenset({"type", "exception"})
_SKIPPED_JSON: Final = frozenset({"@context", "#text", "rdfs:comment", "comment"})


def context_prefixes(context: object) -> dict[str, str]:
    """Prefix -> namespace URI declared inline in a JSON-LD ``@context``."""
    prefixes: dict[str, str] = {}
    items = context if isinstance(context, list) else [context]
    for item in items:
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(value, str) and not key.startswith("@"):
                    prefixes[key] = value
    return prefixes


class JsonMapper:
    """Maps JSON-LD event objects to :class:`Node` trees (prefixes from the contexts)."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self.prefixes = {"cbvmda": "urn:epcglobal:cbv:mda:", **prefixes}

    def key(self, key: str) -> str:
        prefix, sep, local = key.partition(":")
        if sep and prefix in self.prefixes:
            return neutral_name("{" + self.prefixes[prefix] + "}" + local)
        return key

    def value(self, value: object, bare: str | None = None) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        text = str(value)
        if bare is not None and text and ":" not in text:
            return bare + text
        # Only GS1's own value prefixes are expanded: a value such as "example:x" stays as
        # written, as it does in XML, so both forms hash alike.
        return _expand_prefixed(text)

    def nodes(self, key: str, value: object, parent: str = "") -> list[Node]:
        name = self.key(key)
        if key in LIST_MEMBERS and isinstance(value, list):
            member = LIST_MEMBERS[key]
            return [Node(name, "", [self.member(member, item) for item in value])]
        if isinstance(value, list):
            return [n for item in value for n in self.nodes(key, item, parent)]
        if isinstance(value, dict):
            local = context_prefixes(value.get("@context"))
            mapper = JsonMapper({**self.prefixes, **local}) if local else self
            children = [
                n
                for k, v in value.items()
                if k not in _SKIPPED_JSON
                for n in mapper.nodes(k, v, key)
            ]
            return [Node(name, mapper.value(value["#text"]) if "#text" in value else "", children)]
        bare = BARE_WORDS.get(key)
        if parent == "sensorReport" and key in _SENSOR_WORDS:
            bare = GS1_VOC
        return [Node(name, self.value(value, bare))]

    def member(self, member: str, item: object) -> Node:
        if member in _TYPE_WORDS and isinstance(item, dict):
            kind = item.get("type")
            return Node(
                member,
                self.value(item.get(member, "")),
                [],
                pair_type=self.value(kind, _TYPE_WORDS[member]) if kind is not None else None,
            )
        if isinstance(item, dict):
            return self.nodes(member, item)[0]
        return Node(member, self.value(item))

    def event(self, event: Mapping[str, Any]) -> Node:
        local = context_prefixes(event.get("@context"))
        mapper = JsonMapper({**self.prefixes, **local}) if local else self
        children = [
            n for k, v in event.items() if k not in _SKIPPED_JSON for n in mapper.nodes(k, v)
        ]
        return Node(str(event.get("type", "")), "", children)


def node_from_json(event: Mapping[str, Any], context: object = None) -> Node:
    """Neutral tree of one JSON-LD event (``context``: the document's ``@context``)."""
    return JsonMapper(context_prefixes(context)).event(event)


__all__ = [
    "FIELD_ORDER",
    "JsonMapper",
    "Node",
    "event_hash",
    "hash_id",
    "node_from_json",
    "node_from_xml",
    "prehash",
]
