"""The typed outbound model (:mod:`epcis.model`) as format-neutral events and header, so the
same events are written as EPCIS 1.2 XML, 2.0 XML or 2.0 JSON-LD by :mod:`epcis.writers`
and hashed by :mod:`epcis.event_hash`. Pure, no I/O.
"""

from __future__ import annotations

from typing import Final

from epcis.documents import Header, Vocabulary
from epcis.event_hash import Node
from epcis.model import AggregationEvent, DocumentHeader, Event, Location, ObjectEvent, ProductClass
from epcis.xml12 import (
    BIZSTEP_PREFIX,
    BTT_PREFIX,
    DISP_PREFIX,
    MDA,
    NS_CBVMDA,
    NS_GS1USHC,
    NS_SERIALTRACE,
    SDT_PREFIX,
    VTYPE_EPCCLASS,
    VTYPE_LOCATION,
    format_datetime,
    format_offset,
)

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


__all__ = ["REASON", "event_node", "header_of"]
