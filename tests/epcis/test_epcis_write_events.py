"""The one writer path of our documents (`write_events`), as EPCIS 1.2 XML: the GS1 US DSCSA
profile, valid against the official XSD, self-contained master data, streamed."""

from __future__ import annotations

import dataclasses
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from epcis.documents import NS_EPCIS_12 as NS_EPCIS
from epcis.documents import NS_SBDH
from epcis.model import AggregationEvent, DocumentHeader, Event, ObjectEvent
from epcis.neutral import NS_CBVMDA, NS_GS1USHC, NS_SERIALTRACE, format_datetime, format_offset
from epcis.validate import require_valid, validate_epcis_file
from epcis.writers import DocumentStats as WriteStats
from epcis.writers import write_events
from serialtrace.errors import ValidationError

NS = {
    "epcis": NS_EPCIS,
    "sbdh": NS_SBDH,
    "cbvmda": NS_CBVMDA,
    "g": NS_GS1USHC,
    "st": NS_SERIALTRACE,
}
MDA = "urn:epcglobal:cbv:mda#"


def _parse(path: Path) -> etree._ElementTree:
    return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))


def _attributes(element: etree._Element) -> dict[str, str]:
    return {
        str(attribute.get("id")).removeprefix(MDA): attribute.text or ""
        for attribute in element.findall("attribute")
    }


@pytest.fixture
def written(tmp_path: Path, header: DocumentHeader, events: list[Event]) -> tuple[Path, WriteStats]:
    path = tmp_path / "dscsa.xml"
    return path, write_events(path, header, events, "1.2-xml")


def test_document_validates_against_the_official_xsd(written: tuple[Path, WriteStats]) -> None:
    path, _ = written
    report = validate_epcis_file(path)
    assert report.valid, report.errors
    assert report.schema.name == "EPCglobal-epcis-1_2.xsd"
    require_valid(path)


def test_stats(written: tuple[Path, WriteStats], dscsa: Any) -> None:
    path, stats = written
    assert stats.path == path
    assert stats.events == 7
    object_epcs = len(dscsa.UNITS) + len(dscsa.CASES) + 1 + 1
    assert stats.epcs == object_epcs + 3 + 2 + 2  # plus the aggregation children
    assert stats.bytes_written == path.stat().st_size
    assert not list(path.parent.glob("*.part")), "no temporary file left behind"


def test_root_and_sbdh(written: tuple[Path, WriteStats], dscsa: Any) -> None:
    root = _parse(written[0]).getroot()
    assert root.tag == f"{{{NS_EPCIS}}}EPCISDocument"
    assert root.get("schemaVersion") == "1.2"
    assert root.get("creationDate") == "2024-03-01T17:30:00.000Z"
    sbdh = root.find("EPCISHeader/sbdh:StandardBusinessDocumentHeader", NS)
    assert sbdh is not None
    assert sbdh.findtext("sbdh:HeaderVersion", namespaces=NS) == "1.0"
    sender = sbdh.find("sbdh:Sender/sbdh:Identifier", NS)
    receiver = sbdh.find("sbdh:Receiver/sbdh:Identifier", NS)
    assert sender is not None and receiver is not None
    assert (sender.get("Authority"), sender.text) == ("SGLN", dscsa.SITE)
    assert (receiver.get("Authority"), receiver.text) == ("SGLN", dscsa.BUYER)
    identification = sbdh.find("sbdh:DocumentIdentification", NS)
    assert identification is not None
    ident = {etree.QName(child).localname: child.text for child in identification}
    assert ident == {
        "Standard": "EPCglobal",
        "TypeVersion": "1.0",
        "InstanceIdentifier": "ST-2024-000123",
        "Type": "Events",
        "CreationDateAndTime": "2024-03-01T17:30:00.000Z",
    }


MasterData = list[tuple[str, dict[str, dict[str, str]]]]


@pytest.fixture
def master_data(written: tuple[Path, WriteStats]) -> MasterData:
    """The header's vocabularies as written, in order: (type, element id -> attributes)."""
    root = _parse(written[0]).getroot()
    return [
        (
            str(vocabulary.get("type")),
            {
                str(element.get("id")): _attributes(element)
                for element in vocabulary.iterfind("VocabularyElementList/VocabularyElement")
            },
        )
        for vocabulary in root.iterfind(
            "EPCISHeader/extension/EPCISMasterData/VocabularyList/Vocabulary"
        )
    ]


def test_master_data(master_data: MasterData, dscsa: Any) -> None:
    assert [vtype for vtype, _ in master_data] == [
        "urn:epcglobal:epcis:vtype:EPCClass",
        "urn:epcglobal:epcis:vtype:Location",
    ]
    (_, classes), (_, locations) = master_data
    assert classes[dscsa.UNIT_CLASS] == {
        "additionalTradeItemIdentification": "12345-678-90",
        "additionalTradeItemIdentificationTypeCode": "US_FDA_NDC",
        "regulatedProductName": "Examplomab Tablets",
        "manufacturerOfTradeItemPartyName": "Acme Pharma Inc.",
        "dosageFormType": "TABLET",
        "strengthDescription": "10 mg",
        "netContentDescription": "30 TABLET",
    }
    assert classes[dscsa.CASE_CLASS]["additionalTradeItemIdentification"] == "12345067890"
    assert classes[dscsa.CASE_CLASS]["additionalTradeItemIdentificationTypeCode"] == "FDA_NDC_11"
    assert locations[dscsa.SITE] == {
        "name": "Acme Pharma Plant 1",
        "streetAddressOne": "1 Main Street",
        "city": "Springfield",
        "state": "NJ",
        "postalCode": "07081",
        "countryCode": "US",
    }
    assert "state" not in locations[dscsa.BUYER]


def test_gs1ushc_header_extras(written: tuple[Path, WriteStats]) -> None:
    header = _parse(written[0]).getroot().find("EPCISHeader")
    assert header is not None
    names = [etree.QName(child).localname for child in header]
    assert names == [
        "StandardBusinessDocumentHeader",
        "extension",
        "guidelineVersion",
        "dscsaTransactionStatement",
    ]
    assert header.findtext("g:guidelineVersion", namespaces=NS) == "GS1 US DSCSA R1.3"
    statement = header.find("g:dscsaTransactionStatement", NS)
    assert statement is not None
    assert statement.findtext("g:affirmTransactionStatement", namespaces=NS) == "true"
    assert "581(27)" in (statement.findtext("g:legalNotice", namespaces=NS) or "")


def test_no_transaction_statement_unless_asked(tmp_path: Path, dscsa: Any) -> None:
    path = tmp_path / "no-ts.xml"
    write_events(
        path, dscsa.make_header(transaction_statement=False), dscsa.make_events(), "1.2-xml"
    )
    header = _parse(path).getroot().find("EPCISHeader")
    assert header is not None
    assert header.find("g:dscsaTransactionStatement", NS) is None
    assert header.findtext("g:guidelineVersion", namespaces=NS) == "GS1 US DSCSA R1.3"
    require_valid(path)


def test_commissioning_events(written: tuple[Path, WriteStats], dscsa: Any) -> None:
    objects = _parse(written[0]).getroot().findall("EPCISBody/EventList/ObjectEvent")
    units, cases, pallet, decommission = objects
    assert [child.tag for child in units] == [
        "eventTime",
        "eventTimeZoneOffset",
        "baseExtension",
        "epcList",
        "action",
        "bizStep",
        "disposition",
        "readPoint",
        "bizLocation",
        "extension",
    ]
    assert units.findtext("eventTime") == "2024-03-01T08:00:00.000-05:00"
    assert units.findtext("eventTimeZoneOffset") == "-05:00"
    assert units.findtext("baseExtension/eventID") == dscsa.EVENT_ID
    assert tuple(e.text for e in units.iterfind("epcList/epc")) == dscsa.UNITS
    assert units.findtext("action") == "ADD"
    assert units.findtext("bizStep") == "urn:epcglobal:cbv:bizstep:commissioning"
    assert units.findtext("disposition") == "urn:epcglobal:cbv:disp:active"
    assert units.findtext("readPoint/id") == dscsa.SITE
    assert units.findtext("bizLocation/id") == dscsa.SITE
    assert units.findtext("extension/ilmd/cbvmda:lotNumber", namespaces=NS) == "LOT42"
    assert units.findtext("extension/ilmd/cbvmda:itemExpirationDate", namespaces=NS) == "2026-01-31"
    assert tuple(e.text for e in cases.iterfind("epcList/epc")) == dscsa.CASES
    assert cases.find("baseExtension") is None
    assert [e.text for e in pallet.iterfind("epcList/epc")] == [dscsa.PALLET]
    assert pallet.find("extension") is None, "an SSCC carries no ILMD"
    assert decommission.findtext("action") == "DELETE"
    assert decommission.findtext("bizStep") == "urn:epcglobal:cbv:bizstep:decommissioning"
    assert decommission.findtext("disposition") == "urn:epcglobal:cbv:disp:inactive"
    assert decommission.findtext("st:reason", namespaces=NS) == "rejected_at_line"
    assert etree.QName(decommission[-1]).namespace == NS_SERIALTRACE, "extension comes last"


def test_aggregation_events(written: tuple[Path, WriteStats], dscsa: Any) -> None:
    aggregations = _parse(written[0]).getroot().findall("EPCISBody/EventList/AggregationEvent")
    parents = {
        event.findtext("parentID"): [e.text for e in event.iterfind("childEPCs/epc")]
        for event in aggregations
    }
    assert parents == {
        dscsa.CASES[0]: list(dscsa.UNITS[:3]),
        dscsa.CASES[1]: list(dscsa.UNITS[3:5]),
        dscsa.PALLET: list(dscsa.CASES),
    }
    first = aggregations[0]
    assert [child.tag for child in first] == [
        "eventTime",
        "eventTimeZoneOffset",
        "parentID",
        "childEPCs",
        "action",
        "bizStep",
        "disposition",
        "readPoint",
        "bizLocation",
    ]
    assert first.findtext("bizStep") == "urn:epcglobal:cbv:bizstep:packing"
    assert first.findtext("disposition") == "urn:epcglobal:cbv:disp:in_progress"


def test_unpacking_with_empty_children_and_no_locations(
    tmp_path: Path, header: DocumentHeader, dscsa: Any
) -> None:
    t = datetime(2024, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    unpack = AggregationEvent(
        t, "DELETE", "unpacking", "in_progress", dscsa.PALLET, (), dscsa.SITE, None
    )
    ship = ObjectEvent(t, "OBSERVE", "shipping", "in_transit", (dscsa.PALLET,), dscsa.SITE, None)
    path = tmp_path / "unpack.xml"
    stats = write_events(path, header, [unpack, ship], "1.2-xml")
    assert (stats.events, stats.epcs) == (2, 1)
    require_valid(path)
    root = _parse(path).getroot()
    event = root.find("EPCISBody/EventList/AggregationEvent")
    assert event is not None
    children = event.find("childEPCs")
    assert children is not None and len(children) == 0
    assert event.findtext("eventTimeZoneOffset") == "+05:30"
    shipping = root.find("EPCISBody/EventList/ObjectEvent")
    assert shipping is not None and shipping.find("bizLocation") is None


def test_empty_event_list_and_header_without_master_data(tmp_path: Path, dscsa: Any) -> None:
    header = DocumentHeader(
        dscsa.SITE, dscsa.BUYER, "empty-1", datetime(2024, 1, 1, tzinfo=UTC), (), ()
    )
    path = tmp_path / "empty.xml"
    stats = write_events(path, header, [], "1.2-xml", check_master_data=False)
    assert stats.events == 0
    require_valid(path)
    assert _parse(path).getroot().find("EPCISHeader/extension") is None


def test_unknown_location_is_refused_and_no_file_is_left(
    tmp_path: Path, header: DocumentHeader, events: list[Event]
) -> None:
    elsewhere = "urn:epc:id:sgln:0312345.00001.0"
    bad = dataclasses.replace(events[0], read_point=elsewhere)
    path = tmp_path / "bad.xml"
    with pytest.raises(ValidationError, match="no Location master data") as caught:
        write_events(path, header, [*events[1:], bad], "1.2-xml")
    assert caught.value.field == "read_point"
    assert list(tmp_path.iterdir()) == []


def test_unknown_product_class_is_refused(
    tmp_path: Path, header: DocumentHeader, events: list[Event], dscsa: Any
) -> None:
    stranger = ObjectEvent(
        datetime(2024, 3, 1, tzinfo=UTC),
        "ADD",
        "commissioning",
        "active",
        ("urn:epc:id:sgtin:0312345.099999.1",),
        dscsa.SITE,
        dscsa.SITE,
    )
    with pytest.raises(ValidationError, match=r"idpat:sgtin:0312345\.099999\.\*") as caught:
        write_events(tmp_path / "x.xml", header, [stranger], "1.2-xml")
    assert caught.value.field == "epcs"
    # Opt-out for partners who get master data another way:
    stats = write_events(tmp_path / "x.xml", header, [stranger], "1.2-xml", check_master_data=False)
    assert stats.epcs == 1


def test_sender_must_be_in_location_master_data(tmp_path: Path, header: DocumentHeader) -> None:
    lonely = dataclasses.replace(header, locations=header.locations[1:])
    with pytest.raises(ValidationError) as caught:
        write_events(tmp_path / "x.xml", lonely, [], "1.2-xml")
    assert caught.value.field == "sender_sgln"


def test_failure_mid_stream_keeps_the_previous_file(
    tmp_path: Path, header: DocumentHeader, events: list[Event]
) -> None:
    path = tmp_path / "out.xml"
    write_events(path, header, events, "1.2-xml")
    before = path.read_bytes()

    def broken() -> Iterator[Event]:
        yield events[0]
        raise RuntimeError("line feed dropped")

    with pytest.raises(RuntimeError):
        write_events(path, header, broken(), "1.2-xml")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.xml"]


def test_non_event_is_refused(tmp_path: Path, header: DocumentHeader) -> None:
    with pytest.raises(ValidationError) as caught:
        write_events(tmp_path / "x.xml", header, ["<ObjectEvent/>"], "1.2-xml")  # type: ignore[list-item]
    assert caught.value.field == "events"


def test_text_is_escaped(tmp_path: Path, header: DocumentHeader) -> None:
    odd = dataclasses.replace(header, legal_notice="A & B <FDCA 581(27)>")
    path = tmp_path / "escaped.xml"
    write_events(path, odd, [], "1.2-xml")
    require_valid(path)
    notice = (
        _parse(path)
        .getroot()
        .findtext("EPCISHeader/g:dscsaTransactionStatement/g:legalNotice", namespaces=NS)
    )
    assert notice == "A & B <FDCA 581(27)>"


@pytest.mark.parametrize(
    ("value", "text", "offset"),
    [
        (datetime(2024, 3, 1, 8, 0, tzinfo=UTC), "2024-03-01T08:00:00.000Z", "+00:00"),
        (
            datetime(2024, 3, 1, 8, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-5))),
            "2024-03-01T08:00:00.123-05:00",
            "-05:00",
        ),
        (
            datetime(2024, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
            "2024-03-01T08:00:00.000-03:30",
            "-03:30",
        ),
    ],
)
def test_timestamps(value: datetime, text: str, offset: str) -> None:
    assert format_datetime(value) == text
    assert format_offset(value) == offset


def test_large_document_streams_in_bounded_memory(tmp_path: Path, header: DocumentHeader) -> None:
    """100,000 EPCs (500 cases of 100) with a flat Python heap; the file still validates
    (speed is measured by bench/epcis_render.py, not here)."""
    site = header.sender_sgln
    t = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    per_case, cases = 100, 500

    def generate() -> Iterator[Event]:
        for case in range(cases):
            units = tuple(
                f"urn:epc:id:sgtin:0312345.067890.{case * per_case + i}" for i in range(per_case)
            )
            yield ObjectEvent(
                t, "ADD", "commissioning", "active", units, site, site, "LOT1", date(2026, 1, 31)
            )
            yield AggregationEvent(
                t,
                "ADD",
                "packing",
                "in_progress",
                f"urn:epc:id:sgtin:0312345.567890.{case}",
                units,
                site,
                site,
            )

    path = tmp_path / "large.xml"
    tracemalloc.start()
    try:
        stats = write_events(path, header, generate(), "1.2-xml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stats.epcs == 100_000
    assert stats.bytes_written > 5_000_000
    # A tree of 400,000 <epc> elements alone would take hundreds of MB; streaming keeps the
    # heap at the size of one event.
    assert peak < 5 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert validate_epcis_file(path).valid
