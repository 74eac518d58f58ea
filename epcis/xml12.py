"""Streaming EPCIS 1.2 XML writer for the GS1 US DSCSA profile.

:func:`write_epcis_12` writes one ``epcis:EPCISDocument`` with a full SBDH, EPCClass and
Location master data, the ``gs1ushc`` guideline version and (optionally) Transaction
Statement, then the events, one by one, through ``lxml.etree.xmlfile``. No document tree is
ever built: memory stays flat whatever the number of events or EPCs (EPC lists are written
element by element too). Element order follows ``EPCglobal-epcis-1_2.xsd``.

The file is written to a hidden ``.part`` file beside ``path`` and renamed into place only
when complete, so a failure (bad event, full disk) never leaves a half-written document.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from lxml import etree

from epcis._lxml import IncrementalWriter, xmlfile
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

NS_EPCIS: Final = "urn:epcglobal:epcis:xsd:1"
NS_SBDH: Final = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
NS_CBVMDA: Final = "urn:epcglobal:cbv:mda"
NS_GS1USHC: Final = "http://epcis.gs1us.org/hc/ns"
NS_SERIALTRACE: Final = "urn:serialtrace:epcis:1"

NSMAP: Final[dict[str | None, str]] = {
    "epcis": NS_EPCIS,
    "sbdh": NS_SBDH,
    "cbvmda": NS_CBVMDA,
    "gs1ushc": NS_GS1USHC,
    "st": NS_SERIALTRACE,
}

BIZSTEP_PREFIX: Final = "urn:epcglobal:cbv:bizstep:"
DISP_PREFIX: Final = "urn:epcglobal:cbv:disp:"
BTT_PREFIX: Final = "urn:epcglobal:cbv:btt:"
SDT_PREFIX: Final = "urn:epcglobal:cbv:sdt:"
MDA: Final = "urn:epcglobal:cbv:mda#"
VTYPE_EPCCLASS: Final = "urn:epcglobal:epcis:vtype:EPCClass"
VTYPE_LOCATION: Final = "urn:epcglobal:epcis:vtype:Location"

#: Serialtrace extension element carrying ``ObjectEvent.reason`` (after the event's ``extension``).
ST_REASON: Final = f"{{{NS_SERIALTRACE}}}reason"

_INDENT: Final = "  "


@dataclass(frozen=True, slots=True)
class WriteStats:
    """What :func:`write_epcis_12` wrote."""

    path: Path
    object_events: int
    aggregation_events: int
    object_epcs: int
    """EPCs in the ``epcList`` of ObjectEvents."""
    aggregation_child_epcs: int
    """EPCs in the ``childEPCs`` of AggregationEvents (parents not counted)."""
    bytes_written: int

    @property
    def events(self) -> int:
        return self.object_events + self.aggregation_events

    @property
    def epcs(self) -> int:
        return self.object_epcs + self.aggregation_child_epcs


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


class _Out:
    """Indenting facade over the incremental writer."""

    def __init__(self, xf: IncrementalWriter) -> None:
        self._xf = xf
        self._depth = 0
        self._epc = etree.Element("epc")

    def _newline(self) -> None:
        self._xf.write("\n" + _INDENT * self._depth)

    @contextmanager
    def node(
        self,
        tag: str,
        attrib: dict[str, str] | None = None,
        nsmap: dict[str | None, str] | None = None,
        *,
        newline: bool = True,
    ) -> Iterator[None]:
        if newline:
            self._newline()
        with self._xf.element(tag, attrib or {}, nsmap=nsmap):
            self._depth += 1
            yield
            self._depth -= 1
            self._newline()

    def leaf(self, tag: str, text: str, attrib: dict[str, str] | None = None) -> None:
        self._newline()
        with self._xf.element(tag, attrib or {}):
            self._xf.write(text)

    def epc_list(self, tag: str, epcs: Iterable[str]) -> int:
        """Write ``<tag><epc>…</epc>…</tag>`` one EPC at a time; return the count."""
        count = 0
        self._newline()
        with self._xf.element(tag):
            element = self._epc
            prefix = "\n" + _INDENT * (self._depth + 1)
            for epc in epcs:
                element.text = epc
                self._xf.write(prefix, element)
                count += 1
            if count:
                self._newline()
        return count


class _MasterDataCheck:
    """Every SGLN and SGTIN class used must be described in the header's master data."""

    def __init__(self, header: DocumentHeader, enabled: bool) -> None:
        self.enabled = enabled
        self.locations = frozenset(location.sgln for location in header.locations)
        self.classes = frozenset(product.class_key for product in header.products)

    def sgln(self, field: str, sgln: str | None) -> None:
        if self.enabled and sgln is not None and sgln not in self.locations:
            raise ValidationError(
                field, f"{sgln} has no Location master data in the header (add a Location)"
            )

    def epcs(self, field: str, epcs: Iterable[str]) -> None:
        if not self.enabled:
            return
        classes = self.classes
        offset = len(SGTIN_URN_PREFIX)
        for epc in epcs:
            if epc.startswith(SGTIN_URN_PREFIX) and epc[offset:].rpartition(".")[0] not in classes:
                raise ValidationError(
                    field,
                    f"{epc} has no EPCClass master data in the header (add a ProductClass "
                    f"urn:epc:idpat:sgtin:{epc[offset:].rpartition('.')[0]}.*)",
                )


def _write_header(out: _Out, header: DocumentHeader) -> None:
    s = f"{{{NS_SBDH}}}"
    with out.node("EPCISHeader"):
        with out.node(s + "StandardBusinessDocumentHeader"):
            out.leaf(s + "HeaderVersion", "1.0")
            with out.node(s + "Sender"):
                out.leaf(s + "Identifier", header.sender_sgln, {"Authority": "SGLN"})
            with out.node(s + "Receiver"):
                out.leaf(s + "Identifier", header.receiver_sgln, {"Authority": "SGLN"})
            with out.node(s + "DocumentIdentification"):
                out.leaf(s + "Standard", "EPCglobal")
                out.leaf(s + "TypeVersion", "1.0")
                out.leaf(s + "InstanceIdentifier", header.instance_id)
                out.leaf(s + "Type", "Events")
                out.leaf(s + "CreationDateAndTime", format_datetime(header.created_at))
        if header.products or header.locations:
            with out.node("extension"), out.node("EPCISMasterData"), out.node("VocabularyList"):
                if header.products:
                    with (
                        out.node("Vocabulary", {"type": VTYPE_EPCCLASS}),
                        out.node("VocabularyElementList"),
                    ):
                        for product in header.products:
                            _write_product(out, product)
                if header.locations:
                    with (
                        out.node("Vocabulary", {"type": VTYPE_LOCATION}),
                        out.node("VocabularyElementList"),
                    ):
                        for location in header.locations:
                            _write_location(out, location)
        g = f"{{{NS_GS1USHC}}}"
        out.leaf(g + "guidelineVersion", header.guideline_version)
        if header.transaction_statement:
            with out.node(g + "dscsaTransactionStatement"):
                out.leaf(g + "affirmTransactionStatement", "true")
                if header.legal_notice is not None:
                    out.leaf(g + "legalNotice", header.legal_notice)


def _write_attributes(out: _Out, key: str, attributes: list[tuple[str, str | None]]) -> None:
    with out.node("VocabularyElement", {"id": key}):
        for name, value in attributes:
            if value is not None:
                out.leaf("attribute", value, {"id": MDA + name})


def _write_product(out: _Out, product: ProductClass) -> None:
    ndc_attributes: list[tuple[str, str | None]] = (
        [
            ("additionalTradeItemIdentification", product.ndc),
            ("additionalTradeItemIdentificationTypeCode", product.ndc_type_code),
        ]
        if product.ndc is not None
        else []
    )
    _write_attributes(
        out,
        product.pattern_uri,
        [
            *ndc_attributes,
            ("regulatedProductName", product.name),
            ("manufacturerOfTradeItemPartyName", product.manufacturer),
            ("dosageFormType", product.dosage_form),
            ("strengthDescription", product.strength),
            ("netContentDescription", product.net_content),
        ],
    )


def _write_location(out: _Out, location: Location) -> None:
    _write_attributes(
        out,
        location.sgln,
        [
            ("name", location.name),
            ("streetAddressOne", location.street),
            ("city", location.city),
            ("state", location.state),
            ("postalCode", location.postal_code),
            ("countryCode", location.country_code),
        ],
    )


def _write_event_start(out: _Out, event: Event) -> None:
    out.leaf("eventTime", format_datetime(event.event_time))
    out.leaf("eventTimeZoneOffset", format_offset(event.event_time))
    if event.event_id is not None:
        with out.node("baseExtension"):
            out.leaf("eventID", event.event_id)


def _write_event_what(out: _Out, event: Event) -> None:
    out.leaf("action", event.action)
    out.leaf("bizStep", BIZSTEP_PREFIX + event.biz_step)
    out.leaf("disposition", DISP_PREFIX + event.disposition)
    if event.read_point is not None:
        with out.node("readPoint"):
            out.leaf("id", event.read_point)
    if event.biz_location is not None:
        with out.node("bizLocation"):
            out.leaf("id", event.biz_location)


def _write_typed_list(
    out: _Out, tag: str, member: str, prefix: str, items: tuple[tuple[str, str], ...]
) -> None:
    if items:
        with out.node(tag):
            for kind, identifier in items:
                out.leaf(member, identifier, {"type": prefix + kind})


def _write_object_event(out: _Out, event: ObjectEvent) -> int:
    with out.node("ObjectEvent"):
        _write_event_start(out, event)
        count = out.epc_list("epcList", event.epcs)
        _write_event_what(out, event)
        _write_typed_list(
            out, "bizTransactionList", "bizTransaction", BTT_PREFIX, event.biz_transactions
        )
        has_ilmd = event.lot is not None or event.expiry is not None
        if has_ilmd or event.sources or event.destinations:
            m = f"{{{NS_CBVMDA}}}"
            with out.node("extension"):
                _write_typed_list(out, "sourceList", "source", SDT_PREFIX, event.sources)
                _write_typed_list(
                    out, "destinationList", "destination", SDT_PREFIX, event.destinations
                )
                if has_ilmd:
                    with out.node("ilmd"):
                        if event.lot is not None:
                            out.leaf(m + "lotNumber", event.lot)
                        if event.expiry is not None:
                            out.leaf(m + "itemExpirationDate", event.expiry.isoformat())
        if event.reason is not None:
            out.leaf(ST_REASON, event.reason)
    return count


def _write_aggregation_event(out: _Out, event: AggregationEvent) -> int:
    with out.node("AggregationEvent"):
        _write_event_start(out, event)
        out.leaf("parentID", event.parent_id)
        count = out.epc_list("childEPCs", event.child_epcs)
        _write_event_what(out, event)
    return count


def write_epcis_12(
    path: Path,
    header: DocumentHeader,
    events: Iterable[Event],
    *,
    check_master_data: bool = True,
) -> WriteStats:
    """Write an EPCIS 1.2 document (GS1 US DSCSA profile) to ``path``, streaming ``events``.

    ``events`` is consumed once, one event at a time (a generator keeps memory flat). With
    ``check_master_data`` (the default, as the DSCSA profile requires a self-contained
    file) every readPoint/bizLocation SGLN, the SBDH sender/receiver and every SGTIN's class
    must be described in ``header``; otherwise :class:`ValidationError` is raised and no file
    is left behind.
    """
    if not isinstance(header, DocumentHeader):
        raise ValidationError("header", "must be a DocumentHeader")
    check = _MasterDataCheck(header, check_master_data)
    check.sgln("sender_sgln", header.sender_sgln)
    check.sgln("receiver_sgln", header.receiver_sgln)

    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    object_events = aggregation_events = object_epcs = child_epcs = 0
    try:
        with partial.open("wb") as raw:
            raw.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
            with xmlfile(raw, encoding="UTF-8") as xf:
                out = _Out(xf)
                root_attrib = {
                    "schemaVersion": "1.2",
                    "creationDate": format_datetime(header.created_at),
                }
                with out.node(f"{{{NS_EPCIS}}}EPCISDocument", root_attrib, NSMAP, newline=False):
                    _write_header(out, header)
                    with out.node("EPCISBody"), out.node("EventList"):
                        for event in events:
                            if isinstance(event, ObjectEvent):
                                check.sgln("read_point", event.read_point)
                                check.sgln("biz_location", event.biz_location)
                                for field, items in (
                                    ("sources", event.sources),
                                    ("destinations", event.destinations),
                                ):
                                    for _kind, party in items:
                                        check.sgln(field, party)
                                check.epcs("epcs", event.epcs)
                                object_epcs += _write_object_event(out, event)
                                object_events += 1
                            elif isinstance(event, AggregationEvent):
                                check.sgln("read_point", event.read_point)
                                check.sgln("biz_location", event.biz_location)
                                check.epcs("parent_id", (event.parent_id,))
                                check.epcs("child_epcs", event.child_epcs)
                                child_epcs += _write_aggregation_event(out, event)
                                aggregation_events += 1
                            else:
                                raise ValidationError(
                                    "events",
                                    "every event must be an ObjectEvent or AggregationEvent, "
                                    f"got {type(event).__name__}",
                                )
            raw.write(b"\n")
        size = partial.stat().st_size
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return WriteStats(
        path=path,
        object_events=object_events,
        aggregation_events=aggregation_events,
        object_epcs=object_epcs,
        aggregation_child_epcs=child_epcs,
        bytes_written=size,
    )


__all__ = [
    "NS_CBVMDA",
    "NS_EPCIS",
    "NS_GS1USHC",
    "NS_SBDH",
    "NS_SERIALTRACE",
    "WriteStats",
    "format_datetime",
    "format_offset",
    "write_epcis_12",
]
