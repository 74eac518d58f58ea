"""Shared DSCSA sample data for the EPCIS tests, served as fixtures.

``dscsa`` gives the sample identifiers (``dscsa.SITE``, ``dscsa.UNITS``, …) and builders
(``dscsa.make_header()``, ``dscsa.make_events()``); ``header`` / ``events`` are the defaults.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from epcis.model import AggregationEvent, DocumentHeader, Event, Location, ObjectEvent, ProductClass

EST = timezone(timedelta(hours=-5))
SITE = "urn:epc:id:sgln:0312345.00000.0"
BUYER = "urn:epc:id:sgln:0398765.00000.0"
UNIT_CLASS = "urn:epc:idpat:sgtin:0312345.067890.*"
CASE_CLASS = "urn:epc:idpat:sgtin:0312345.567890.*"
UNITS = tuple(f"urn:epc:id:sgtin:0312345.067890.{serial}" for serial in range(100001, 100007))
CASES = ("urn:epc:id:sgtin:0312345.567890.5001", "urn:epc:id:sgtin:0312345.567890.5002")
PALLET = "urn:epc:id:sscc:0312345.1000000042"
EVENT_ID = "urn:uuid:6f2c1d2e-8a1b-4c3d-9e0f-123456789abc"


def make_header(*, transaction_statement: bool = True) -> DocumentHeader:
    return DocumentHeader(
        sender_sgln=SITE,
        receiver_sgln=BUYER,
        instance_id="ST-2024-000123",
        created_at=datetime(2024, 3, 1, 17, 30, tzinfo=UTC),
        products=(
            ProductClass(
                pattern_uri=UNIT_CLASS,
                ndc="12345-678-90",
                ndc_type_code="US_FDA_NDC",
                name="Examplomab Tablets",
                manufacturer="Acme Pharma Inc.",
                dosage_form="TABLET",
                strength="10 mg",
                net_content="30 TABLET",
            ),
            ProductClass(
                pattern_uri=CASE_CLASS,
                ndc="12345067890",
                ndc_type_code="FDA_NDC_11",
                name="Examplomab Tablets (case of 3)",
                manufacturer="Acme Pharma Inc.",
                dosage_form="TABLET",
                strength="10 mg",
                net_content="3 BOTTLE",
            ),
        ),
        locations=(
            Location(
                SITE, "Acme Pharma Plant 1", "1 Main Street", "Springfield", "NJ", "07081", "US"
            ),
            Location(BUYER, "Wholesale Co", "2 Elm Road", "Reno", None, "89501", "US"),
        ),
        transaction_statement=transaction_statement,
        legal_notice="Seller has complied with FDCA 581(27)." if transaction_statement else None,
    )


def make_events() -> list[Event]:
    t = datetime(2024, 3, 1, 8, 0, tzinfo=EST)
    expiry = date(2026, 1, 31)
    return [
        ObjectEvent(
            t,
            "ADD",
            "commissioning",
            "active",
            UNITS,
            SITE,
            SITE,
            lot="LOT42",
            expiry=expiry,
            event_id=EVENT_ID,
        ),
        ObjectEvent(
            t + timedelta(minutes=1),
            "ADD",
            "commissioning",
            "active",
            CASES,
            SITE,
            SITE,
            lot="LOT42",
            expiry=expiry,
        ),
        ObjectEvent(
            t + timedelta(minutes=2), "ADD", "commissioning", "active", (PALLET,), SITE, SITE
        ),
        AggregationEvent(
            t + timedelta(minutes=3),
            "ADD",
            "packing",
            "in_progress",
            CASES[0],
            UNITS[:3],
            SITE,
            SITE,
        ),
        AggregationEvent(
            t + timedelta(minutes=4),
            "ADD",
            "packing",
            "in_progress",
            CASES[1],
            UNITS[3:5],
            SITE,
            SITE,
        ),
        AggregationEvent(
            t + timedelta(minutes=5), "ADD", "packing", "in_progress", PALLET, CASES, SITE, SITE
        ),
        ObjectEvent(
            t + timedelta(minutes=6),
            "DELETE",
            "decommissioning",
            "inactive",
            UNITS[5:],
            SITE,
            SITE,
            reason="rejected_at_line",
        ),
    ]


@pytest.fixture
def dscsa() -> object:
    """This module: sample constants and builders."""
    return sys.modules[__name__]


@pytest.fixture
def header() -> DocumentHeader:
    return make_header()


@pytest.fixture
def events() -> list[Event]:
    return make_events()
