"""Name what makes a partner's EPCIS file deviate from the standard (pure, no I/O but the
one locked-down peek at the document element in :func:`document_deviations`).

Real partners send files that the official schema refuses, or that it accepts but that
are not the version we read them as. Each deviation gets a *kind*:

- ``vendor_attribute``: an un-namespaced attribute the schema does not define
  (``<bizTransaction date=…>``); XSD "The attribute 'x' is not allowed";
- ``unnamespaced_extension``: a vendor element in no namespace (``<erpBatchRef>``), or an
  unknown JSON-LD key; XSD: an unexpected element that is not an EPCIS field;
- ``element_order``: EPCIS fields in the wrong order (``bizStep`` before ``action``);
  XSD: an unexpected element that *is* an EPCIS field;
- ``incomplete_header``: an SBDH or EPCIS header missing required parts (no ``Sender``);
  XSD errors on SBDH elements or a header missing children;
- ``old_version``: an EPCIS 1.0 / 1.1 document, read with the 1.2 schema (1.2 is backward
  compatible): the ``schemaVersion`` of the document element;
- ``default_namespace``: the EPCIS namespace declared as the default namespace, so the
  unqualified EPCIS children end up qualified: the document element has no prefix (and
  XSD errors on ``{urn:epcglobal:epcis:xsd:…}`` elements);
- ``schema``: any other schema error.

The inbound stage records each with its kind (tolerant policy) or lists them all when it
refuses the file (strict policy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from lxml import etree

from epcis.formats import ORDER_12, ORDER_20

KINDS: Final = (
    "vendor_attribute",
    "unnamespaced_extension",
    "element_order",
    "incomplete_header",
    "old_version",
    "default_namespace",
    "schema",
)
NS_SBDH_BRACED: Final = "{http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader}"
_EPCIS_NS: Final = re.compile(r"\{urn:epcglobal:epcis(-masterdata|-query)?:xsd:[12]\}")
_ELEMENT: Final = re.compile(r"Element '(?P<name>[^']+)'")
_LINE: Final = re.compile(r"^line (\d+):")

#: Every element name the EPCIS 1.2 / 2.0 schemas define in events, lists and the header.
EPCIS_FIELDS: Final[frozenset[str]] = frozenset(
    {
        *(name for fields in ORDER_20.values() for name in fields),
        *(name for main, wrapped in ORDER_12.values() for name in (*main, *wrapped)),
        *ORDER_20,
        "QuantityEvent", "eventTime", "recordTime", "eventTimeZoneOffset", "eventID",
        "errorDeclaration", "certificationInfo", "baseExtension", "extension", "epc", "id",
        "bizTransaction", "source", "destination", "quantityElement", "epcClass", "quantity",
        "uom", "EPCISHeader", "EPCISBody", "EventList", "EPCISMasterData", "VocabularyList",
        "Vocabulary", "VocabularyElementList", "VocabularyElement", "attribute", "children",
        "sensorElement", "sensorMetadata", "sensorReport", "set", "unset",
    }
)  # fmt: skip
_HEADER_ELEMENTS: Final = frozenset({"EPCISHeader", "EPCISMasterData", "VocabularyList"})


@dataclass(frozen=True, slots=True)
class Deviation:
    kind: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.message}"


def _line(message: str) -> int | None:
    match = _LINE.match(message)
    return int(match.group(1)) if match else None


def classify_xml_error(message: str) -> str:
    """The kind of one XSD error message (``line N: Element '…': …``)."""
    match = _ELEMENT.search(message)
    name = match.group("name") if match else ""
    if "attribute" in message and "is not allowed" in message:
        return "vendor_attribute"
    if _EPCIS_NS.match(name):
        return "default_namespace"
    local = name.rpartition("}")[2]
    if name.startswith(NS_SBDH_BRACED) or (
        local in _HEADER_ELEMENTS and "Missing child" in message
    ):
        return "incomplete_header"
    if "This element is not expected" in message:
        if not name.startswith("{") and local not in EPCIS_FIELDS:
            return "unnamespaced_extension"
        if local in EPCIS_FIELDS:
            return "element_order"
    return "schema"


def classify_json_error(message: str) -> str:
    """The kind of one JSON schema error message."""
    if "Additional properties are not allowed" in message or "additionalProperties" in message:
        return "unnamespaced_extension"
    if "is a required property" in message and ("epcisHeader" in message or "sender" in message):
        return "incomplete_header"
    return "schema"


def document_deviations(path: Path) -> list[Deviation]:
    """Deviations of the document element of an XML file: an EPCIS 1.0 / 1.1 document,
    the EPCIS namespace as default namespace. Parsed without DTD, entities or network."""
    try:
        for _event, element in etree.iterparse(
            str(path), events=("start",), resolve_entities=False, no_network=True,
            load_dtd=False,
        ):  # fmt: skip
            root = element
            break
        else:
            return []
    except etree.XMLSyntaxError:
        return []
    found: list[Deviation] = []
    line = root.sourceline
    namespace = etree.QName(root).namespace or ""
    version = root.get("schemaVersion")
    if namespace == "urn:epcglobal:epcis:xsd:1" and version in ("1.0", "1.1"):
        found.append(
            Deviation(
                "old_version",
                line,
                f"line {line}: EPCIS {version} document (schemaVersion {version}), read with "
                "the EPCIS 1.2 schema (backward compatible)",
            )
        )
    if root.prefix is None and _EPCIS_NS.match("{" + namespace + "}"):
        found.append(
            Deviation(
                "default_namespace",
                line,
                f"line {line}: the EPCIS namespace {namespace} is the default namespace, so "
                "the header and body elements are read in it",
            )
        )
    return found


def classify(path: Path, errors: list[str], *, json_document: bool) -> list[Deviation]:
    """Every deviation of a file: the document-level ones, then each schema error with its
    kind (document order)."""
    found = [] if json_document else document_deviations(path)
    kind_of = classify_json_error if json_document else classify_xml_error
    found.extend(Deviation(kind_of(e), _line(e), e) for e in errors)
    return found


__all__ = [
    "KINDS",
    "Deviation",
    "classify",
    "classify_json_error",
    "classify_xml_error",
    "document_deviations",
]
