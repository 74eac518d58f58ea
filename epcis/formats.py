"""Format-neutral events (:class:`epcis.event_hash.Node`) rendered in each EPCIS form.

- :func:`to_xml_20`: an EPCIS 2.0 XML event element, children in the XSD's order, CBV
  values as GS1 web URIs (``https://ref.gs1.org/cbv/BizStep-shipping``).
- :func:`to_xml_12`: an EPCIS 1.2 XML event element: ``eventID`` / ``errorDeclaration`` in
  ``baseExtension``, quantity / source / destination lists and ILMD in the event's
  ``extension``, CBV values as URNs. What 1.2 cannot carry (sensor data, persistent
  disposition, certification info, association events, CBV 2.0-only words) raises
  :class:`UnrepresentableError` naming the field, never silently dropped.
- :func:`to_json`: a JSON-LD event object, CBV values as bare words, extensions as CURIEs
  (prefixes collected in a :class:`Prefixes` for the document's ``@context``).

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from lxml import etree

from epcis.event_hash import GS1_VOC, LIST_MEMBERS, TYPED_LISTS, XSI, Node
from epcis.model import CBV20_ONLY_BIZSTEPS, CBV20_ONLY_DISPOSITIONS
from serialtrace.errors import SerialtraceError

CBV_WEB: Final = "https://ref.gs1.org/cbv/"

#: CBV term kind -> (1.2 URN prefix, 2.0 web URI prefix).
CBV_KINDS: Final[dict[str, tuple[str, str]]] = {
    "bizstep": ("urn:epcglobal:cbv:bizstep:", CBV_WEB + "BizStep-"),
    "disp": ("urn:epcglobal:cbv:disp:", CBV_WEB + "Disp-"),
    "btt": ("urn:epcglobal:cbv:btt:", CBV_WEB + "BTT-"),
    "sdt": ("urn:epcglobal:cbv:sdt:", CBV_WEB + "SDT-"),
    "er": ("urn:epcglobal:cbv:er:", CBV_WEB + "ER-"),
}
#: Field (or typed-list member) -> CBV term kind of its value (or of its type).
CBV_FIELDS: Final[dict[str, str]] = {
    "bizStep": "bizstep",
    "disposition": "disp",
    "set": "disp",
    "unset": "disp",
    "reason": "er",
    "bizTransaction": "btt",
    "source": "sdt",
    "destination": "sdt",
}

_COMMON_HEAD: Final = ("eventTime", "recordTime", "eventTimeZoneOffset")
ORDER_20: Final[dict[str, tuple[str, ...]]] = {
    "ObjectEvent": ("epcList", "action", "bizStep", "disposition", "readPoint", "bizLocation",
                    "bizTransactionList", "quantityList", "sourceList", "destinationList",
                    "sensorElementList", "persistentDisposition", "ilmd"),
    "AggregationEvent": ("parentID", "childEPCs", "action", "bizStep", "disposition",
                         "readPoint", "bizLocation", "bizTransactionList", "childQuantityList",
                         "sourceList", "destinationList", "sensorElementList",
                         "persistentDisposition"),
    "TransactionEvent": ("bizTransactionList", "parentID", "epcList", "action", "bizStep",
                         "disposition", "readPoint", "bizLocation", "quantityList",
                         "sourceList", "destinationList", "sensorElementList",
                         "persistentDisposition"),
    "TransformationEvent": ("inputEPCList", "inputQuantityList", "outputEPCList",
                            "outputQuantityList", "transformationID", "bizStep",
                            "disposition", "readPoint", "bizLocation", "bizTransactionList",
                            "sourceList", "destinationList", "sensorElementList",
                            "persistentDisposition", "ilmd"),
    "AssociationEvent": ("parentID", "childEPCs", "childQuantityList", "action", "bizStep",
                         "disposition", "readPoint", "bizLocation", "bizTransactionList",
                         "sourceList", "destinationList", "sensorElementList",
                         "persistentDisposition"),
}  # fmt: skip
#: 1.2: (fields of the event, fields of its ``extension``).
ORDER_12: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "ObjectEvent": (
        ("epcList", "action", "bizStep", "disposition", "readPoint", "bizLocation",
         "bizTransactionList"),
        ("quantityList", "sourceList", "destinationList", "ilmd"),
    ),
    "AggregationEvent": (
        ("parentID", "childEPCs", "action", "bizStep", "disposition", "readPoint",
         "bizLocation", "bizTransactionList"),
        ("childQuantityList", "sourceList", "destinationList"),
    ),
    "TransactionEvent": (
        ("bizTransactionList", "parentID", "epcList", "action", "bizStep", "disposition",
         "readPoint", "bizLocation"),
        ("quantityList", "sourceList", "destinationList"),
    ),
    "TransformationEvent": (
        ("inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList",
         "transformationID", "bizStep", "disposition", "readPoint", "bizLocation",
         "bizTransactionList", "sourceList", "destinationList", "ilmd"),
        (),
    ),
}  # fmt: skip
#: 1.2 requires these (possibly empty) lists.
REQUIRED_12: Final[dict[str, str]] = {"ObjectEvent": "epcList", "AggregationEvent": "childEPCs",
                                      "TransactionEvent": "epcList"}  # fmt: skip
ONLY_20: Final = frozenset({"sensorElementList", "persistentDisposition", "certificationInfo"})
_ATTRIBUTE_CARRIERS: Final = frozenset({"sensorMetadata", "sensorReport"})
_SKIP: Final = frozenset({"eventID", "type"})
NUMERIC_FIELDS: Final = frozenset(
    {"quantity", "value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"}
)


class UnrepresentableError(SerialtraceError):
    """An event holds something the target format cannot carry."""


# --- CBV value forms ------------------------------------------------------------------


def cbv_word(kind: str, value: str) -> str | None:
    """The bare CBV word of ``value`` (URN, web URI or bare), ``None`` if not a CBV term."""
    urn, web = CBV_KINDS[kind]
    if value.startswith(urn):
        return value[len(urn) :]
    if value.startswith(web):
        return value[len(web) :]
    if value and ":" not in value and "/" not in value:
        return value
    return None


def cbv_form(kind: str, value: str, form: str) -> str:
    """``value`` as ``form`` (``urn``, ``web`` or ``bare``); non-CBV URIs unchanged."""
    word = cbv_word(kind, value)
    if word is None:
        return value
    urn, web = CBV_KINDS[kind]
    return {"urn": urn, "web": web, "bare": ""}[form] + word


def event_id_of(node: Node) -> str | None:
    for child in node.children:
        if child.name == "eventID" and child.text:
            return child.text
    return None


# --- XML ------------------------------------------------------------------------------


def _sorted_children(node: Node, order: tuple[str, ...]) -> list[Node]:
    rank = {name: index for index, name in enumerate(order)}
    known = [c for c in node.children if c.name in rank]
    known.sort(key=lambda c: rank[c.name])
    return known


#: Namespace URI -> prefix used for extension elements in XML output.
XML_PREFIXES: dict[str, str] = {
    "urn:epcglobal:cbv:mda": "cbvmda",
    "http://epcis.gs1us.org/hc/ns": "gs1ushc",
    "urn:serialtrace:epcis:1": "st",
    "https://gs1.org/voc/": "gs1",
}


def _new_element(parent: etree._Element | None, name: str) -> etree._Element:
    nsmap: dict[str, str] | None = None
    if name.startswith("{"):
        uri = name[1:].partition("}")[0]
        prefix = XML_PREFIXES.get(uri)
        if prefix is not None and (parent is None or parent.nsmap.get(prefix) != uri):
            nsmap = {prefix: uri}
    if parent is None:
        return etree.Element(name, nsmap=nsmap)
    return etree.SubElement(parent, name, nsmap=nsmap)


def _generic_xml(parent: etree._Element, node: Node, form: str) -> etree._Element:
    element = _new_element(parent, node.name)
    _fill_xml(element, node, form)
    return element


#: Where the schema orders the children of an element otherwise than the hash's order.
_ERROR_DECLARATION_ORDER = {"declarationTime": 0, "reason": 1, "correctiveEventIDs": 2}


def _schema_order(name: str, children: list[Node]) -> list[Node]:
    """``children`` of element ``name`` in the order the XSD wants (``unset`` before
    ``set`` in a persistent disposition; the error declaration's fields)."""
    if name == "persistentDisposition":
        return sorted(children, key=lambda c: c.name != "unset")
    if name == "errorDeclaration":
        return sorted(children, key=lambda c: _ERROR_DECLARATION_ORDER.get(c.name, 3))
    return children


def _fill_xml(element: etree._Element, node: Node, form: str) -> None:
    name = node.name
    if node.text:
        kind = CBV_FIELDS.get(name)
        element.text = cbv_form(kind, node.text, form) if kind else node.text
    if node.pair_type is not None:
        element.set("type", cbv_form(CBV_FIELDS[name], node.pair_type, form))
    if name in _ATTRIBUTE_CARRIERS:
        for child in node.children:
            if child.children:
                _generic_xml(element, child, form)
            else:
                element.set(child.name, child.text)
        return
    children = [c for c in node.children if not c.name.startswith(XSI)]
    for child in node.children:
        if child.name.startswith(XSI):
            element.set(child.name, child.text)
    children = _schema_order(name, children)
    for child in children:
        _generic_xml(element, child, form)


def _check_12(node: Node) -> None:
    for child in node.children:
        if child.name in ONLY_20:
            raise UnrepresentableError(f"{node.name}: {child.name} cannot be carried in EPCIS 1.2")
        if child.name == "bizStep" and cbv_word("bizstep", child.text) in CBV20_ONLY_BIZSTEPS:
            raise UnrepresentableError(f"bizStep: {child.text!r} is a CBV 2.0-only word")
        if child.name == "disposition" and cbv_word("disp", child.text) in CBV20_ONLY_DISPOSITIONS:
            raise UnrepresentableError(f"disposition: {child.text!r} is a CBV 2.0-only word")


def _head(element: etree._Element, node: Node, form: str) -> None:
    for name in _COMMON_HEAD:
        for child in node.children:
            if child.name == name:
                _generic_xml(element, child, form)


def to_xml_20(node: Node, event_id: str | None) -> etree._Element:
    """EPCIS 2.0 XML element of ``node`` (``event_id`` written as its eventID).

    Mirrored as text by ``_to_xml_20_text`` (the writers' hot path): a change here (or in
    ``_fill_xml``) must be made there too; tests/epcis/test_render_fast.py compares them."""
    if node.name not in ORDER_20:
        raise UnrepresentableError(f"{node.name} is not an EPCIS 2.0 event type")
    _no_local_fields(node, ORDER_20[node.name])
    element = etree.Element(node.name)
    _head(element, node, "web")
    if event_id is not None:
        etree.SubElement(element, "eventID").text = event_id
    for name in ("errorDeclaration", "certificationInfo"):
        for child in node.children:
            if child.name == name:
                _generic_xml(element, child, "web")
    for child in _sorted_children(node, ORDER_20[node.name]):
        _generic_xml(element, child, "web")
    for child in _extensions(node, ORDER_20[node.name]):
        _generic_xml(element, child, "web")
    return element


_STANDARD: Final = frozenset(
    {*_COMMON_HEAD, "eventID", "errorDeclaration", "certificationInfo", "type"}
)


def _extensions(node: Node, order: Iterable[str]) -> list[Node]:
    known = _STANDARD | set(order)
    return [c for c in node.children if c.name not in known]


def to_xml_12(node: Node, event_id: str | None) -> etree._Element:
    """EPCIS 1.2 XML element of ``node`` (raises :class:`UnrepresentableError`).

    Mirrored as text by ``_to_xml_12_text``: keep both in step (see :func:`to_xml_20`)."""
    if node.name not in ORDER_12:
        raise UnrepresentableError(f"{node.name} cannot be carried in EPCIS 1.2")
    _check_12(node)
    main, wrapped = ORDER_12[node.name]
    element = etree.Element(node.name)
    _head(element, node, "urn")
    errors = [c for c in node.children if c.name == "errorDeclaration"]
    if event_id is not None or errors:
        base = etree.SubElement(element, "baseExtension")
        if event_id is not None:
            etree.SubElement(base, "eventID").text = event_id
        for child in errors:
            _generic_xml(base, child, "urn")
    present = {c.name for c in node.children}
    required = REQUIRED_12.get(node.name)
    for child_name in main:
        if child_name == required and child_name not in present:
            etree.SubElement(element, child_name)
        for child in node.children:
            if child.name == child_name:
                _generic_xml(element, child, "urn")
    inner = [c for c in _sorted_children(node, wrapped) if c.name in wrapped]
    extras = _extensions(node, (*main, *wrapped))
    local = [c for c in extras if not c.name.startswith("{")]
    if inner or local:
        extension = etree.SubElement(element, "extension")
        for child in inner:
            _generic_xml(extension, child, "urn")
        if local:  # 1.2 keeps un-namespaced (future standard) fields in extension/extension
            holder = etree.SubElement(extension, "extension")
            for child in local:
                _generic_xml(holder, child, "urn")
    for child in extras:
        if child.name.startswith("{"):
            _generic_xml(element, child, "urn")
    return element


def _no_local_fields(node: Node, order: Iterable[str]) -> None:
    for child in _extensions(node, order):
        if not child.name.startswith("{"):
            raise UnrepresentableError(
                f"{node.name}: un-namespaced field {child.name!r} (an EPCIS 1.2 "
                "extension/extension field) has no place in EPCIS 2.0"
            )


# --- JSON-LD --------------------------------------------------------------------------


class Prefixes:
    """Namespace URI -> CURIE prefix for extension keys (new ones numbered ``ext1``…)."""

    def __init__(self, known: dict[str, str] | None = None) -> None:
        self.by_uri: dict[str, str] = {}
        self.used: set[str] = set()
        for prefix, uri in (known or {}).items():
            self.by_uri.setdefault(uri, prefix)
        self.by_uri.setdefault("urn:epcglobal:cbv:mda:", "cbvmda")
        self.by_uri.setdefault("urn:epcglobal:cbv:mda", "cbvmda")

    def curie(self, name: str) -> str:
        if not name.startswith("{"):
            return name
        uri, _, local = name[1:].partition("}")
        prefix = self.by_uri.get(uri)
        if prefix is None:
            prefix = f"ext{len(self.by_uri) + 1}"
            self.by_uri[uri] = prefix
        self.used.add(prefix)
        return f"{prefix}:{local}"

    def context(self) -> dict[str, str]:
        """Inline context entries (``cbvmda`` is in GS1's context already)."""
        return {p: u for u, p in self.by_uri.items() if p != "cbvmda"}


def _scalar(name: str, text: str, form_kind: str | None) -> Any:
    if form_kind is not None:
        return cbv_form(form_kind, text, "bare")
    if name in NUMERIC_FIELDS:
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() and "." not in text else number
    if name == "booleanValue" and text in ("true", "false"):
        return text == "true"
    return text


def _is_nil(node: Node) -> bool:
    return any(c.name == XSI + "nil" and c.text == "true" for c in node.children)


def _json_value(node: Node, prefixes: Prefixes) -> Any:
    if node.name in LIST_MEMBERS:
        member = LIST_MEMBERS[node.name]
        return [_json_member(member, c, prefixes) for c in node.children if c.name == member]
    if not node.children:
        text = node.text
        if node.name in ("sensorReport",) or node.name in _ATTRIBUTE_CARRIERS:
            return {}
        if text.startswith(GS1_VOC) and node.name in ("type", "exception"):
            return "gs1:" + text[len(GS1_VOC) :]
        return _scalar(node.name, text, CBV_FIELDS.get(node.name))
    result: dict[str, Any] = {}
    if node.text:
        result["#text"] = node.text
    for child in node.children:
        if child.name.startswith(XSI) or _is_nil(child):
            continue
        key = prefixes.curie(child.name)
        value = _json_value(child, prefixes)
        repeated = child.name in ("sensorReport", "set", "unset", "correctiveEventID")
        if key in result:
            if not isinstance(result[key], list) or key not in _ARRAYS:
                result[key] = [result[key]] if key not in _ARRAYS else result[key]
            result[key].append(value)
        else:
            result[key] = [value] if repeated or key in _ARRAYS else value
    if node.name == "sensorReport":
        for key in ("type", "exception"):
            value = result.get(key)
            if isinstance(value, str) and value.startswith(GS1_VOC):
                result[key] = "gs1:" + value[len(GS1_VOC) :]
    return result


_ARRAYS: Final = frozenset({"sensorReport", "set", "unset"})


def _json_member(member: str, node: Node, prefixes: Prefixes) -> Any:
    if member in TYPED_LISTS.values():
        entry: dict[str, Any] = {}
        if node.pair_type is not None:
            entry["type"] = cbv_form(CBV_FIELDS[member], node.pair_type, "bare")
        entry[member] = node.text
        return entry
    if member in ("epc", "correctiveEventID"):
        return node.text
    return _json_value(node, prefixes)


def to_json(node: Node, event_id: str | None, prefixes: Prefixes) -> dict[str, Any]:
    """JSON-LD event object of ``node``."""
    if node.name not in ORDER_20:
        raise UnrepresentableError(f"{node.name} is not an EPCIS 2.0 event type")
    _no_local_fields(node, ORDER_20[node.name])
    result: dict[str, Any] = {"type": node.name}
    if event_id is not None:
        result["eventID"] = event_id
    certification: list[str] = []
    for child in node.children:
        if child.name in _SKIP:
            continue
        if child.name == "certificationInfo":
            certification.append(child.text)
            continue
        if child.name == "errorDeclaration":
            value = _json_value(child, prefixes)
            if isinstance(value, dict) and "correctiveEventIDs" in value:
                ids = value["correctiveEventIDs"]
                value["correctiveEventIDs"] = ids if isinstance(ids, list) else [ids]
            result["errorDeclaration"] = value
            continue
        key = prefixes.curie(child.name)
        value = _json_value(child, prefixes)
        if child.name == "persistentDisposition" and isinstance(value, dict):
            for k in ("set", "unset"):
                if k in value and not isinstance(value[k], list):
                    value[k] = [value[k]]
        if key in result:
            existing = result[key]
            result[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            result[key] = value
    if certification:
        result["certificationInfo"] = certification[0] if len(certification) == 1 else certification
    return result


__all__ = [
    "CBV_FIELDS",
    "CBV_KINDS",
    "ORDER_12",
    "ORDER_20",
    "Prefixes",
    "UnrepresentableError",
    "cbv_form",
    "cbv_word",
    "event_id_of",
    "to_json",
    "to_xml_12",
    "to_xml_20",
    "to_xml_text",
]


# --- XML as text (the hot path of the writers) -----------------------------------------
#
# ``to_xml_20_text`` / ``to_xml_12_text`` give exactly what lxml writes for the element of
# ``to_xml_20`` / ``to_xml_12`` (tests compare them byte for byte), without building the
# element: one list of string pieces per event. What this path does not handle itself
# (an extension namespace without a fixed prefix, namespaced attributes, a name or text
# lxml would refuse) is built through lxml as before, so its output and its errors do not
# change.


class _NotPlainError(Exception):
    """The event needs the lxml path (see above)."""


_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_TEXT_SPECIAL: Final = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTR_SPECIAL: Final = re.compile('[&<>"\n\r\t\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_ESCAPES: Final = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES: Final = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;",
     "\t": "&#9;"}
)  # fmt: skip
_NO_PREFIXES: Final[frozenset[str]] = frozenset()


def _escape(value: str, special: re.Pattern[str], escapes: dict[int, str]) -> str:
    """``value`` as XML character data (``_TEXT_*``) or attribute value (``_ATTR_*``):
    unchanged when nothing is ``special``; a character XML cannot carry is not plain."""
    if special.search(value) is None:
        return value
    if _NOT_XML.search(value) is not None:
        raise _NotPlainError
    return value.translate(escapes)


def _plain_name(name: str) -> str:
    if _NAME_RE.fullmatch(name) is None:
        raise _NotPlainError
    return name


def _qname(name: str, declared: frozenset[str]) -> tuple[str, str, frozenset[str]]:
    """Tag, namespace declaration (or ``""``) and the prefixes declared below it."""
    if not name.startswith("{"):
        return _plain_name(name), "", declared
    uri, _, local = name[1:].partition("}")
    prefix = XML_PREFIXES.get(uri)
    if prefix is None:
        raise _NotPlainError
    tag = f"{prefix}:{_plain_name(local)}"
    if prefix in declared:
        return tag, "", declared
    return (
        tag,
        f' xmlns:{prefix}="{_escape(uri, _ATTR_SPECIAL, _ATTR_ESCAPES)}"',
        declared | {prefix},
    )


def _element_text(
    out: list[str],
    name: str,
    declared: frozenset[str],
    attributes: dict[str, str] | None,
    text: str,
    children: list[Node],
    form: str,
) -> None:
    tag, declaration, inner = _qname(name, declared)
    out.append(f"<{tag}{declaration}")
    if attributes:
        for key, value in attributes.items():
            out.append(f' {_plain_name(key)}="{_escape(value, _ATTR_SPECIAL, _ATTR_ESCAPES)}"')
    if not text and not children:
        out.append("/>")
        return
    out.append(">")
    if text:
        out.append(_escape(text, _TEXT_SPECIAL, _TEXT_ESCAPES))
    for child in children:
        _generic_text(out, child, form, inner)
    out.append(f"</{tag}>")


#: Plain element names already checked (bounded: names come from the events).
_CHECKED_NAMES: set[str] = set()
_EPC_LISTS: Final = frozenset({"epcList", "childEPCs", "inputEPCList", "outputEPCList"})


def _leaf_text(out: list[str], name: str, text: str, form: str) -> None:
    if name not in _CHECKED_NAMES:
        _plain_name(name)
        if len(_CHECKED_NAMES) < 4096:
            _CHECKED_NAMES.add(name)
    if not text:
        out.append(f"<{name}/>")
        return
    kind = CBV_FIELDS.get(name)
    if kind is not None:
        text = cbv_form(kind, text, form)
    out.append(f"<{name}>{_escape(text, _TEXT_SPECIAL, _TEXT_ESCAPES)}</{name}>")


def _epc_list_text(out: list[str], node: Node) -> bool:
    """An EPC list of plain ``epc`` members in one piece; ``False`` if it is not one."""
    if node.text or node.pair_type is not None or not node.children:
        return False
    texts: list[str] = []
    for child in node.children:
        if child.name != "epc" or child.children or child.pair_type is not None or not child.text:
            return False
        texts.append(child.text)
    if _TEXT_SPECIAL.search("".join(texts)) is not None:
        return False
    joined = "</epc><epc>".join(texts)
    out.append(f"<{node.name}><epc>{joined}</epc></{node.name}>")
    return True


def _generic_text(out: list[str], node: Node, form: str, declared: frozenset[str]) -> None:
    """Text of ``_generic_xml(parent, node, form)``."""
    name = node.name
    if not node.children and node.pair_type is None and not name.startswith("{"):
        _leaf_text(out, name, node.text, form)
        return
    if name in _EPC_LISTS and _epc_list_text(out, node):
        return
    text = ""
    if node.text:
        kind = CBV_FIELDS.get(name)
        text = cbv_form(kind, node.text, form) if kind else node.text
    attributes: dict[str, str] | None = None
    if node.pair_type is not None:
        attributes = {"type": cbv_form(CBV_FIELDS[name], node.pair_type, form)}
    if name in _ATTRIBUTE_CARRIERS:
        children = []
        for child in node.children:
            if child.children:
                children.append(child)
            else:
                if child.name.startswith("{"):
                    raise _NotPlainError
                attributes = attributes or {}
                attributes[child.name] = child.text
        _element_text(out, name, declared, attributes, text, children, form)
        return
    children = []
    for child in node.children:
        if child.name.startswith(XSI):
            raise _NotPlainError  # a namespaced attribute: lxml picks the prefix
        children.append(child)
    children = _schema_order(name, children)
    _element_text(out, name, declared, attributes, text, children, form)


def _event_text(name: str, body: list[str]) -> str:
    tag = _plain_name(name)
    if not body:
        return f"<{tag}/>"
    return f"<{tag}>{''.join(body)}</{tag}>"


def _head_text(out: list[str], node: Node, form: str) -> None:
    for name in _COMMON_HEAD:
        for child in node.children:
            if child.name == name:
                _generic_text(out, child, form, _NO_PREFIXES)


def _to_xml_20_text(node: Node, event_id: str | None) -> str:
    if node.name not in ORDER_20:
        raise UnrepresentableError(f"{node.name} is not an EPCIS 2.0 event type")
    _no_local_fields(node, ORDER_20[node.name])
    out: list[str] = []
    _head_text(out, node, "web")
    if event_id is not None:
        out.append(f"<eventID>{_escape(event_id, _TEXT_SPECIAL, _TEXT_ESCAPES)}</eventID>")
    for name in ("errorDeclaration", "certificationInfo"):
        for child in node.children:
            if child.name == name:
                _generic_text(out, child, "web", _NO_PREFIXES)
    for child in _sorted_children(node, ORDER_20[node.name]):
        _generic_text(out, child, "web", _NO_PREFIXES)
    for child in _extensions(node, ORDER_20[node.name]):
        _generic_text(out, child, "web", _NO_PREFIXES)
    return _event_text(node.name, out)


def _to_xml_12_text(node: Node, event_id: str | None) -> str:
    if node.name not in ORDER_12:
        raise UnrepresentableError(f"{node.name} cannot be carried in EPCIS 1.2")
    _check_12(node)
    main, wrapped = ORDER_12[node.name]
    out: list[str] = []
    _head_text(out, node, "urn")
    errors = [c for c in node.children if c.name == "errorDeclaration"]
    if event_id is not None or errors:
        out.append("<baseExtension>")
        if event_id is not None:
            out.append(f"<eventID>{_escape(event_id, _TEXT_SPECIAL, _TEXT_ESCAPES)}</eventID>")
        for child in errors:
            _generic_text(out, child, "urn", _NO_PREFIXES)
        out.append("</baseExtension>")
    present = {c.name for c in node.children}
    required = REQUIRED_12.get(node.name)
    for child_name in main:
        if child_name == required and child_name not in present:
            out.append(f"<{child_name}/>")
        for child in node.children:
            if child.name == child_name:
                _generic_text(out, child, "urn", _NO_PREFIXES)
    inner = [c for c in _sorted_children(node, wrapped) if c.name in wrapped]
    extras = _extensions(node, (*main, *wrapped))
    local = [c for c in extras if not c.name.startswith("{")]
    if inner or local:
        out.append("<extension>")
        for child in inner:
            _generic_text(out, child, "urn", _NO_PREFIXES)
        if local:
            out.append("<extension>")
            for child in local:
                _generic_text(out, child, "urn", _NO_PREFIXES)
            out.append("</extension>")
        out.append("</extension>")
    for child in extras:
        if child.name.startswith("{"):
            _generic_text(out, child, "urn", _NO_PREFIXES)
    return _event_text(node.name, out)


def to_xml_text(node: Node, event_id: str | None, version: str) -> str:
    """The serialised XML of the event element of ``node`` in EPCIS ``version`` (``1.2`` or
    ``2.0``), exactly as lxml writes :func:`to_xml_12` / :func:`to_xml_20`'s element; a 1.2
    TransformationEvent comes wrapped in the ``extension`` 1.2 keeps it in."""
    try:
        text = (
            _to_xml_12_text(node, event_id) if version == "1.2" else _to_xml_20_text(node, event_id)
        )
    except _NotPlainError:
        element = to_xml_12(node, event_id) if version == "1.2" else to_xml_20(node, event_id)
        text = etree.tostring(element, encoding="unicode")
    if version == "1.2" and node.name == "TransformationEvent":
        text = f"<extension>{text}</extension>"
    return text
