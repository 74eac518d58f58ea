"""Pure domain: messages, identifier forms, the decision table."""

from __future__ import annotations

import datetime as dt

import pytest

from serialtrace.errors import ValidationError
from serialtrace.gs1.element_string import GS
from tests.verification.conftest import GTIN, PRODUCTS, REQ_GLN, SERIALS
from verification.decide import IndexRecord, decide
from verification.identifiers import ProductCatalog, identifier_from_fields, parse_text
from verification.messages import (
    AdditionalInfo,
    FailureReason,
    ProductIdentifier,
    VerificationResponse,
    parse_request_params,
)

TODAY = dt.date(2026, 11, 25)
CORR = "3f2c1e8a-5b6d-4c7e-9f10-2a3b4c5d6e7f"
CATALOG = ProductCatalog.of(PRODUCTS)


def test_response_json_uses_the_standard_field_names() -> None:
    body = VerificationResponse(
        False, FailureReason.NO_MATCH_GTIN_SERIAL_LOT, AdditionalInfo.SUSPECT
    ).to_json(
        responder_gln="0312345000011",
        correlation_id=CORR,
        timestamp=dt.datetime(2026, 5, 4, 14, 3, 11, 120000, tzinfo=dt.UTC),
    )
    assert body == {
        "verificationTimestamp": "2026-05-04T14:03:11.120Z",
        "responderGLN": "0312345000011",
        "corrUUID": CORR,
        "data": {
            "verified": False,
            "verificationFailureReason": "No_match_GTIN_Serial_Lot",
            "additionalInfo": "Suspect",
        },
    }
    assert VerificationResponse.from_json(body) == VerificationResponse(
        False, FailureReason.NO_MATCH_GTIN_SERIAL_LOT, AdditionalInfo.SUSPECT
    )


def test_codes_are_spelled_as_the_standard() -> None:
    assert [r.value for r in FailureReason] == [
        "No_match_GTIN_Serial",
        "No_match_GTIN_Serial_Lot",
        "No_match_GTIN_Serial_Expiry",
        "No_match_GTIN_Serial_Lot_Expiry",
        "Manufacturer_policy",
        "No_reason_provided",
        "Not_for_re-distribution",
    ]
    assert [a.value for a in AdditionalInfo] == [
        "Expired",
        "ExpirationExtended",
        "Recalled",
        "Suspect",
        "Illegitimate",
    ]


def test_inconsistent_answers_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"data\.verified"):
        VerificationResponse.from_json({"data": {"verified": "yes"}})
    with pytest.raises(ValidationError, match="verificationFailureReason"):
        VerificationResponse.from_json(
            {"data": {"verified": False, "verificationFailureReason": "x"}}
        )
    with pytest.raises(ValidationError, match="data"):
        VerificationResponse.from_json({"data": {"verified": False}})


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"corrUUID": [CORR], "context": ["dscsaSaleableReturn"]}, "reqGLN"),
        ({"reqGLN": ["0614141000013"], "corrUUID": [CORR], "context": ["x"]}, "reqGLN"),
        ({"reqGLN": [REQ_GLN], "context": ["dscsaSaleableReturn"]}, "corrUUID"),
        ({"reqGLN": [REQ_GLN], "corrUUID": ["nope"], "context": ["x"]}, "corrUUID"),
        ({"reqGLN": [REQ_GLN], "corrUUID": [CORR]}, "context"),
        ({"reqGLN": [REQ_GLN], "corrUUID": [CORR], "context": ["a b"]}, "context"),
        (
            {"reqGLN": [REQ_GLN], "corrUUID": [CORR], "context": ["c"], "linkType": ["pip"]},
            "linkType",
        ),
        ({"reqGLN": [REQ_GLN, REQ_GLN], "corrUUID": [CORR], "context": ["c"]}, "reqGLN"),
    ],
)
def test_request_parameters_are_checked_by_name(params: dict[str, list[str]], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_request_params(ProductIdentifier(GTIN, "S1", "L1", "301031"), params, today=TODAY)
    assert caught.value.field == field


def test_every_query_form_resolves_to_the_same_identifier() -> None:
    expected = ProductIdentifier(GTIN, "ACTIVE1", "L1", "301031")
    forms = [
        parse_text(f"]d201{GTIN}17301031" + f"10L1{GS}21ACTIVE1", today=TODAY),
        parse_text(f"(01){GTIN}(17)301031(10)L1(21)ACTIVE1", today=TODAY),
        parse_text(f"https://vrs.example.com/x/01/{GTIN}/10/L1/21/ACTIVE1?17=301031", today=TODAY),
        identifier_from_fields(
            {"gtin": [GTIN], "serial": ["ACTIVE1"], "lot": ["L1"], "exp": ["301031"]}, CATALOG
        )[0],
        identifier_from_fields(
            {"ndc": ["12345-678-90"], "21": ["ACTIVE1"], "10": ["L1"], "17": ["301031"]}, CATALOG
        )[0],
        identifier_from_fields(
            {"ndc": ["12345067890"], "21": ["ACTIVE1"], "10": ["L1"], "17": ["301031"]}, CATALOG
        )[0],
        identifier_from_fields(
            {"productCode": ["SRT-10-30"], "serial": ["ACTIVE1"], "lot": ["L1"], "exp": ["301031"]},
            CATALOG,
        )[0],
        identifier_from_fields(
            {"snomed": ["386904008"], "serial": ["ACTIVE1"], "lot": ["L1"], "exp": ["301031"]},
            CATALOG,
        )[0],
    ]
    assert all(form == expected for form in forms), forms


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"productCode": ["NOPE"], "serial": ["S"]}, "productCode"),
        ({"snomed": ["1"], "serial": ["S"]}, "snomed"),
        ({"ndc": ["12345-678"], "serial": ["S"]}, "ndc"),
        ({"gtin": [GTIN]}, "serial"),
        ({"serial": ["S"]}, "gtin"),
        ({"gtin": [GTIN], "ndc": ["12345-678-90"], "serial": ["S"]}, "gtin"),
        ({"gtin": ["00312345678907"], "serial": ["S"]}, "gtin"),
    ],
)
def test_unresolvable_forms_name_the_field(params: dict[str, list[str]], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        identifier_from_fields(params, CATALOG)
    assert caught.value.field == field


def _record(serial: str) -> IndexRecord:
    lot, exp, status, reason, release = SERIALS[serial]
    return IndexRecord(
        GTIN, serial, lot, dt.date.fromisoformat(exp), status, reason, release, "DEMO"
    )


NO = FailureReason
INFO = AdditionalInfo

#: serial → (verified, reason, additionalInfo): the documented decision table.
TABLE = {
    "ACTIVE1": (True, None, None),
    "SHIPPED1": (True, None, None),
    "RECALL1": (True, None, INFO.RECALLED),
    "LOTREC1": (True, None, INFO.RECALLED),
    "BLOCKED1": (False, NO.MANUFACTURER_POLICY, INFO.SUSPECT),
    "EXPIRED1": (True, None, INFO.EXPIRED),
    "DISP1": (False, NO.MANUFACTURER_POLICY, None),
    "DEST1": (False, NO.MANUFACTURER_POLICY, None),
    "STOLEN1": (False, NO.NOT_FOR_REDISTRIBUTION, INFO.ILLEGITIMATE),
    "REJECT1": (False, NO.MANUFACTURER_POLICY, None),
    "UNUSED1": (False, NO.NO_MATCH_GTIN_SERIAL, None),
    "ALLOC1": (False, NO.NO_MATCH_GTIN_SERIAL, None),
}


@pytest.mark.parametrize("serial", sorted(TABLE))
def test_decision_table(serial: str) -> None:
    record = _record(serial)
    asked = ProductIdentifier(GTIN, serial, record.lot, record.expiry.strftime("%y%m%d"))
    answer = decide(asked, record, today=TODAY)
    assert (answer.verified, answer.failure_reason, answer.additional_info) == TABLE[serial]


def test_mismatches_and_overrides() -> None:
    record = _record("ACTIVE1")
    ask = ProductIdentifier(GTIN, "ACTIVE1", "L1", "301031")
    assert decide(ask, None, today=TODAY).failure_reason is NO.NO_MATCH_GTIN_SERIAL
    wrong_lot = ProductIdentifier(GTIN, "ACTIVE1", "L2", "301031")
    wrong_exp = ProductIdentifier(GTIN, "ACTIVE1", "L1", "301130")
    both = ProductIdentifier(GTIN, "ACTIVE1", "L2", "301130")
    assert decide(wrong_lot, record, today=TODAY).failure_reason is NO.NO_MATCH_GTIN_SERIAL_LOT
    assert decide(wrong_exp, record, today=TODAY).failure_reason is NO.NO_MATCH_GTIN_SERIAL_EXPIRY
    assert decide(both, record, today=TODAY).failure_reason is NO.NO_MATCH_GTIN_SERIAL_LOT_EXPIRY
    # the expiry may name the month's last day as 00
    assert decide(ProductIdentifier(GTIN, "ACTIVE1", "L1", "301000"), record, today=TODAY).verified
    quarantined = decide(ask, record, today=TODAY, quarantined=True)
    assert (quarantined.verified, quarantined.additional_info) == (False, INFO.SUSPECT)
    assert quarantined.failure_reason is NO.NOT_FOR_REDISTRIBUTION
    other = decide(ask, record, today=TODAY, client="ACME")
    assert other.failure_reason is NO.NO_MATCH_GTIN_SERIAL
    assert decide(ask, record, today=TODAY, client="DEMO").verified
