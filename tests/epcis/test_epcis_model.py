"""The EPCIS model checks cheap rules at construction and names the field it rejects."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from epcis.model import (
    CBV12_BIZSTEPS,
    CBV12_DISPOSITIONS,
    CBV20_ONLY_BIZSTEPS,
    CBV20_ONLY_DISPOSITIONS,
    AggregationEvent,
    DocumentHeader,
    Location,
    ObjectEvent,
    ProductClass,
)
from serialtrace.errors import ValidationError
from serialtrace.settings import require_conformance_file

T = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
SITE = "urn:epc:id:sgln:0312345.00000.0"
BUYER = "urn:epc:id:sgln:0398765.00000.0"
UNIT_CLASS = "urn:epc:idpat:sgtin:0312345.067890.*"
UNITS = tuple(f"urn:epc:id:sgtin:0312345.067890.{serial}" for serial in range(1, 7))
CASES = ("urn:epc:id:sgtin:0312345.567890.5001", "urn:epc:id:sgtin:0312345.567890.5002")


def _object(**changes: Any) -> ObjectEvent:
    fields: dict[str, Any] = {
        "event_time": T,
        "action": "ADD",
        "biz_step": "commissioning",
        "disposition": "active",
        "epcs": UNITS,
        "read_point": SITE,
        "biz_location": SITE,
    }
    fields.update(changes)
    return ObjectEvent(**fields)


def _aggregation(**changes: Any) -> AggregationEvent:
    fields: dict[str, Any] = {
        "event_time": T,
        "action": "ADD",
        "biz_step": "packing",
        "disposition": "in_progress",
        "parent_id": CASES[0],
        "child_epcs": UNITS[:3],
        "read_point": SITE,
        "biz_location": SITE,
    }
    fields.update(changes)
    return AggregationEvent(**fields)


def _product(**changes: Any) -> ProductClass:
    fields: dict[str, Any] = {
        "pattern_uri": UNIT_CLASS,
        "ndc": "0001-0123-45",
        "ndc_type_code": "US_FDA_NDC",
        "name": "Drug",
        "manufacturer": "Acme",
        "dosage_form": "TABLET",
        "strength": "10 mg",
        "net_content": "30 TABLET",
    }
    fields.update(changes)
    return ProductClass(**fields)


def _location(**changes: Any) -> Location:
    fields: dict[str, Any] = {
        "sgln": SITE,
        "name": "Plant",
        "street": "1 Main St",
        "city": "Springfield",
        "state": "NJ",
        "postal_code": "07081",
        "country_code": "US",
    }
    fields.update(changes)
    return Location(**fields)


def _rejects(field: str, build: Any, *, match: str | None = None) -> ValidationError:
    with pytest.raises(ValidationError, match=match) as caught:
        build()
    assert caught.value.field == field
    return caught.value


def test_sample_data_builds(header: DocumentHeader, events: list[Any]) -> None:
    assert len(header.products) == 2
    assert len(events) == 7


def test_objects_are_frozen_and_slotted(header: DocumentHeader) -> None:
    event = _object()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.action = "OBSERVE"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")
    assert not hasattr(header, "__dict__")


@pytest.mark.parametrize("action", ["add", "UPDATE", ""])
def test_action_must_be_an_epcis_action(action: str) -> None:
    _rejects("action", lambda: _object(action=action))
    _rejects("action", lambda: _aggregation(action=action))


@pytest.mark.parametrize("word", sorted(CBV12_BIZSTEPS))
def test_every_cbv12_bizstep_is_accepted(word: str) -> None:
    assert _object(biz_step=word).biz_step == word


@pytest.mark.parametrize("word", sorted(CBV12_DISPOSITIONS))
def test_every_cbv12_disposition_is_accepted(word: str) -> None:
    assert _object(disposition=word).disposition == word


@pytest.mark.parametrize("word", sorted(CBV20_ONLY_BIZSTEPS))
def test_cbv20_only_bizstep_is_refused(word: str) -> None:
    _rejects("biz_step", lambda: _object(biz_step=word), match="CBV 2.0-only")


@pytest.mark.parametrize("word", sorted(CBV20_ONLY_DISPOSITIONS))
def test_cbv20_only_disposition_is_refused(word: str) -> None:
    _rejects("disposition", lambda: _aggregation(disposition=word), match="CBV 2.0-only")


def test_cbv_uri_and_unknown_word_are_refused() -> None:
    _rejects(
        "biz_step",
        lambda: _object(biz_step="urn:epcglobal:cbv:bizstep:commissioning"),
        match="bare CBV word",
    )
    _rejects("disposition", lambda: _object(disposition="Active"), match="not a CBV 1.2 word")


def test_cbv_lists_match_the_kit_json_schema() -> None:
    """CBV 1.2 words + CBV 2.0 additions = the 2.0 JSON Schema enumerations."""
    schema = json.loads(
        require_conformance_file("epcis-2.0/EPCIS-JSON-Schema.json").read_text(encoding="utf-8")
    )

    def enum(name: str) -> set[str]:
        for option in schema["definitions"][name]["anyOf"]:
            if "enum" in option:
                return set(option["enum"])
        raise AssertionError(name)

    assert enum("bizStep") == CBV12_BIZSTEPS | CBV20_ONLY_BIZSTEPS
    assert enum("disposition") == CBV12_DISPOSITIONS | CBV20_ONLY_DISPOSITIONS
    assert not CBV12_BIZSTEPS & CBV20_ONLY_BIZSTEPS
    assert not CBV12_DISPOSITIONS & CBV20_ONLY_DISPOSITIONS


def test_naive_datetimes_are_refused(header: DocumentHeader) -> None:
    naive = datetime(2024, 3, 1, 8, 0)
    _rejects("event_time", lambda: _object(event_time=naive), match="timezone-aware")
    _rejects("event_time", lambda: _aggregation(event_time=naive), match="timezone-aware")
    _rejects(
        "created_at",
        lambda: dataclasses.replace(header, created_at=naive),
        match="timezone-aware",
    )


def test_ilmd_only_on_add_and_expiry_is_a_date() -> None:
    _rejects("lot", lambda: _object(action="OBSERVE", biz_step="shipping", lot="L1"))
    _rejects("expiry", lambda: _object(action="DELETE", expiry=date(2026, 1, 1)))
    _rejects("expiry", lambda: _object(expiry=datetime(2026, 1, 1, tzinfo=UTC)))
    event = _object(lot="L1", expiry=date(2026, 1, 31))
    assert event.lot == "L1"


def test_epcs_must_be_non_empty_epc_urns() -> None:
    _rejects("epcs", lambda: _object(epcs=()))
    _rejects("epcs", lambda: _object(epcs=("00312345678906",)), match="EPC URN")
    _rejects("child_epcs", lambda: _aggregation(child_epcs=("urn:x:1",)), match="EPC URN")
    _rejects("parent_id", lambda: _aggregation(parent_id="pallet-1"))


def test_lists_are_stored_as_tuples() -> None:
    event = _object(epcs=list(UNITS))
    assert event.epcs == UNITS
    assert isinstance(event.epcs, tuple)


def test_aggregation_children_rules() -> None:
    _rejects("child_epcs", lambda: _aggregation(child_epcs=()))
    _rejects("child_epcs", lambda: _aggregation(child_epcs=(CASES[0], UNITS[0])), match="own child")
    unpack = _aggregation(action="DELETE", biz_step="unpacking", child_epcs=())
    assert unpack.child_epcs == ()


def test_read_point_and_locations_are_sglns() -> None:
    _rejects("read_point", lambda: _object(read_point="0312345000000"))
    _rejects("biz_location", lambda: _object(biz_location="urn:epc:id:sgln:0312345.0.0"))
    assert _object(read_point=None, biz_location=None).read_point is None


def test_event_id_must_be_a_uri() -> None:
    _rejects("event_id", lambda: _object(event_id="not a uri"))
    assert _object(event_id="ni:///sha-256;abc?ver=CBV2.0").event_id


def test_product_class_rules() -> None:
    _rejects("pattern_uri", lambda: _product(pattern_uri="urn:epc:id:sgtin:0312345.067890.1"))
    _rejects("pattern_uri", lambda: _product(pattern_uri="urn:epc:idpat:sgtin:0312345.67890.*"))
    _rejects("ndc", lambda: _product(ndc="00010123455"), match="hyphenated")
    _rejects("ndc", lambda: _product(ndc="0001-0123-45", ndc_type_code="FDA_NDC_11"))
    _rejects("ndc_type_code", lambda: _product(ndc_type_code="us ndc"))
    _rejects("name", lambda: _product(name=" "))
    assert _product(ndc=None).class_key == "0312345.067890"
    assert _product(ndc="05515494495", ndc_type_code="FDA_NDC_11").ndc == "05515494495"


def test_location_rules() -> None:
    _rejects("sgln", lambda: _location(sgln="urn:epc:id:sgln:0312345.00000"))
    _rejects("country_code", lambda: _location(country_code="USA"))
    _rejects("city", lambda: _location(city=""))
    assert _location(state=None).state is None


def test_header_rules(header: DocumentHeader) -> None:
    _rejects("sender_sgln", lambda: dataclasses.replace(header, sender_sgln="0312345000000"))
    _rejects("instance_id", lambda: dataclasses.replace(header, instance_id=""))
    _rejects(
        "products",
        lambda: dataclasses.replace(header, products=header.products + header.products[:1]),
        match="duplicate",
    )
    _rejects(
        "locations",
        lambda: dataclasses.replace(header, locations=header.locations * 2),
        match="duplicate",
    )
    _rejects(
        "legal_notice",
        lambda: dataclasses.replace(header, transaction_statement=False),
        match="transaction_statement",
    )
    plain = DocumentHeader(SITE, BUYER, "x", T, (), ())
    assert plain.guideline_version == "GS1 US DSCSA R1.3"
    assert plain.transaction_statement is False
