"""The typed outbound model (:mod:`epcis.model`) as format-neutral events and header, so the
same events are written as EPCIS 1.2 XML, 2.0 XML or 2.0 JSON-LD by :mod:`epcis.writers`
and hashed by :mod:`epcis.event_hash`. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Final

from epcis.documents import Header, Vocabulary
from epcis.event_hash import Node
from epcis.model import (
    SGTIN_URN_PREFIX,
    AggregationEvent,
    DocumentHeader,
    Event,
    Location,
    ObjectEvent,
    ProductClass,
)
from serialtrace.errors import ValidationError

NS_CBVMDA: Final = "urn:epcglobal:cbv:mda"
NS_GS1USHC: Final = "http://epcis.gs1us.org/hc/ns"
NS_SERIALTRACE: Final = "urn:serialtrace:epcis:1"
BIZSTEP_PREFIX: Final = "urn:epcglobal:cbv:bizstep:"
DISP_PREFIX: Final = "urn:epcglobal:cbv:disp:"
BTT_PREFIX: Final = "urn:epcglobal:cbv:btt:"
SDT_PREFIX: Final = "urn:epcglobal:cbv:sdt:"
MDA: Final = "urn:epcglobal:cbv:mda#"
VTYPE_EPCCLASS: Final = "urn:epcglobal:epcis:vtype:EPCClass"
VTYPE_LOCATION: Final = "urn:epcglobal:epcis:vtype:Location"


def format_datetime(value: datetime) -> str:
    """``xsd:dateTime`` with milliseconds and an explicit offset (``Z`` for UTC)."""
    text = value.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def format_offset(value: datetime) -> str:
    """``eventTimeZoneOffset`` (``+HH:MM`` / ``-HH:MM``) of an aware datetime."""
    offset = value.utcoffset()
    if offset is None:
        raise ValidationError("event_time", "must be timezone-aware")
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


_MDA: Final = f"{{{NS_CBVMDA}}}"
_USHC: Final = f"{{{NS_GS1USHC}}}"
REASON: Final = f"{{{NS_SERIALTRACE}}}reason"


def _epcs(name: str, epcs: tuple[str, ...]) -> Node:
    return Node(name, "", [Node("epc", epc) for epc in epcs])


def _place(name: str, sgln: str | None) -> list[Node]:
    return [] if sgln is None else [Node(name, "", [Node("id", sgln)])]


def _typed(name: str, member: str, prefix: str, items: tuple[tuple[str, str], ...]) -> list[Node]:
    if not items:
        return []
    return [Node(name, "", [Node(member, value, [], prefix + kind) for kind, value in items])]


def event_node(event: Event) -> Node:
    """Neutral tree of one typed event (CBV values as 1.2 URNs; writers re-spell them)."""
    head = [
        Node("eventTime", format_datetime(event.event_time)),
        Node("eventTimeZoneOffset", format_offset(event.event_time)),
    ]
    if event.event_id is not None:
        head.append(Node("eventID", event.event_id))
    what = [
        Node("action", event.action),
        Node("bizStep", BIZSTEP_PREFIX + event.biz_step),
        Node("disposition", DISP_PREFIX + event.disposition),
        *_place("readPoint", event.read_point),
        *_place("bizLocation", event.biz_location),
    ]
    if isinstance(event, AggregationEvent):
        return Node(
            "AggregationEvent",
            "",
            [*head, Node("parentID", event.parent_id), _epcs("childEPCs", event.child_epcs), *what],
        )
    children = [*head, _epcs("epcList", event.epcs), *what]
    children += _typed("bizTransactionList", "bizTransaction", BTT_PREFIX, event.biz_transactions)
    children += _typed("sourceList", "source", SDT_PREFIX, event.sources)
    children += _typed("destinationList", "destination", SDT_PREFIX, event.destinations)
    ilmd = []
    if event.lot is not None:
        ilmd.append(Node(_MDA + "lotNumber", event.lot))
    if event.expiry is not None:
        ilmd.append(Node(_MDA + "itemExpirationDate", event.expiry.isoformat()))
    if ilmd:
        children.append(Node("ilmd", "", ilmd))
    if event.reason is not None:
        children.append(Node(REASON, event.reason))
    assert isinstance(event, ObjectEvent)
    return Node("ObjectEvent", "", children)


def _attributes(pairs: list[tuple[str, str | None]]) -> list[Node]:
    return [Node(MDA + name, value) for name, value in pairs if value is not None]


def _product(product: ProductClass) -> tuple[str, list[Node]]:
    ndc: list[tuple[str, str | None]] = (
        [
            ("additionalTradeItemIdentification", product.ndc),
            ("additionalTradeItemIdentificationTypeCode", product.ndc_type_code),
        ]
        if product.ndc is not None
        else []
    )
    return product.pattern_uri, _attributes(
        [
            *ndc,
            ("regulatedProductName", product.name),
            ("manufacturerOfTradeItemPartyName", product.manufacturer),
            ("dosageFormType", product.dosage_form),
            ("strengthDescription", product.strength),
            ("netContentDescription", product.net_content),
        ]
    )


def _location(location: Location) -> tuple[str, list[Node]]:
    return location.sgln, _attributes(
        [
            ("name", location.name),
            ("streetAddressOne", location.street),
            ("city", location.city),
            ("state", location.state),
            ("postalCode", location.postal_code),
            ("countryCode", location.country_code),
        ]
    )


def header_of(header: DocumentHeader, fmt: str = "2.0-xml") -> Header:
    """Neutral header: SBDH parties, EPCClass and Location master data, and the GS1 US
    guideline version and Transaction Statement as header extensions."""
    vocabularies = []
    if header.products:
        vocabularies.append(Vocabulary(VTYPE_EPCCLASS, [_product(p) for p in header.products]))
    if header.locations:
        vocabularies.append(Vocabulary(VTYPE_LOCATION, [_location(x) for x in header.locations]))
    extras = [Node(_USHC + "guidelineVersion", header.guideline_version)]
    if header.transaction_statement:
        statement = [Node(_USHC + "affirmTransactionStatement", "true")]
        if header.legal_notice is not None:
            statement.append(Node(_USHC + "legalNotice", header.legal_notice))
        extras.append(Node(_USHC + "dscsaTransactionStatement", "", statement))
    return Header(
        format=fmt,
        schema_version="2.0",
        creation_date=format_datetime(header.created_at),
        sender=header.sender_sgln,
        receiver=header.receiver_sgln,
        instance_id=header.instance_id,
        vocabularies=vocabularies,
        extras=extras,
        namespaces={"cbvmda": NS_CBVMDA, "gs1ushc": NS_GS1USHC, "st": NS_SERIALTRACE},
    )


class _MasterDataCheck:
    """Every SGLN and SGTIN class used must be described in the header's master data."""

    def __init__(self, header: DocumentHeader) -> None:
        self.locations = frozenset(location.sgln for location in header.locations)
        self.classes = frozenset(product.class_key for product in header.products)

    def sgln(self, field: str, sgln: str | None) -> None:
        if sgln is not None and sgln not in self.locations:
            raise ValidationError(
                field, f"{sgln} has no Location master data in the header (add a Location)"
            )

    def epcs(self, field: str, epcs: Iterable[str]) -> None:
        offset = len(SGTIN_URN_PREFIX)
        for epc in epcs:
            if not epc.startswith(SGTIN_URN_PREFIX):
                continue
            key = epc[offset:].rpartition(".")[0]
            if key not in self.classes:
                raise ValidationError(
                    field,
                    f"{epc} has no EPCClass master data in the header (add a ProductClass "
                    f"urn:epc:idpat:sgtin:{key}.*)",
                )


def self_contained(header: DocumentHeader, events: Iterable[Event]) -> Iterator[Event]:
    """``events``, checked one by one (streamed) against the header's master data, as the
    DSCSA profile wants a self-contained file: the SBDH sender and receiver, every
    readPoint / bizLocation / source / destination SGLN must be a ``Location``, and the
    class of every SGTIN (``epcs``, ``child_epcs``, ``parent_id``) a ``ProductClass``
    (SSCCs need none). A miss raises :class:`ValidationError` naming the field."""
    check = _MasterDataCheck(header)
    check.sgln("sender_sgln", header.sender_sgln)
    check.sgln("receiver_sgln", header.receiver_sgln)
    for event in events:
        if not isinstance(event, ObjectEvent | AggregationEvent):
            raise ValidationError(
                "events",
                "every event must be an ObjectEvent or AggregationEvent, "
                f"got {type(event).__name__}",
            )
        check.sgln("read_point", event.read_point)
        check.sgln("biz_location", event.biz_location)
        if isinstance(event, ObjectEvent):
            for field, items in (("sources", event.sources), ("destinations", event.destinations)):
                for _kind, party in items:
                    check.sgln(field, party)
            check.epcs("epcs", event.epcs)
        else:
            check.epcs("parent_id", (event.parent_id,))
            check.epcs("child_epcs", event.child_epcs)
        yield event


__all__ = [
    "NS_CBVMDA",
    "NS_GS1USHC",
    "NS_SERIALTRACE",
    "REASON",
    "event_node",
    "format_datetime",
    "format_offset",
    "header_of",
    "self_contained",
]
