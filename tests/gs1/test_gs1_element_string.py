from __future__ import annotations

import contextlib
import datetime as dt
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serialtrace.errors import ValidationError
from serialtrace.gs1.charset import CSET82, date_to_yymmdd
from serialtrace.gs1.checkdigit import check_digit
from serialtrace.gs1.element_string import (
    GS,
    ElementString,
    encode,
    encode_unit,
    needs_separator,
    parse,
    validate_ai_value,
)

TODAY = dt.date(2026, 5, 4)


@st.composite
def gtin14s(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet=string.digits, min_size=13, max_size=13))
    return body + check_digit(body)


def cset82_text(exclude: str = "") -> st.SearchStrategy[str]:
    alphabet = "".join(c for c in sorted(CSET82) if c not in exclude)
    return st.text(alphabet=alphabet, min_size=1, max_size=20)


EXPIRIES = st.dates(dt.date(1978, 1, 1), dt.date(2075, 12, 31)).map(date_to_yymmdd)

# --- §10 test vectors: (ais, payload, hri) -------------------------------------------------

VECTORS = [
    (  # 1
        [("01", "09506000134352"), ("17", "271231"), ("10", "LOT42"), ("21", "ABC123")],
        f"01095060001343521727123110LOT42{GS}21ABC123",
        "(01)09506000134352(17)271231(10)LOT42(21)ABC123",
    ),
    (  # 2
        [("01", "19506000134359"), ("17", "270400"), ("10", "B7"), ("21", "CASE0001")],
        f"01195060001343591727040010B7{GS}21CASE0001",
        "(01)19506000134359(17)270400(10)B7(21)CASE0001",
    ),
    (  # 3
        [("01", "09506000134352"), ("17", "271231"), ("10", "LOT42"), ("21", "12/34%X")],
        f"01095060001343521727123110LOT42{GS}2112/34%X",
        "(01)09506000134352(17)271231(10)LOT42(21)12/34%X",
    ),
    (  # 4
        [("01", "80614141123458"), ("21", "A(1)+B")],
        "018061414112345821A(1)+B",
        "(01)80614141123458(21)A(1)+B",
    ),
    (  # 5
        [("00", "106141412345678908")],
        "00106141412345678908",
        "(00)106141412345678908",
    ),
    (  # 6
        [("414", "0614141000012"), ("254", "DOCK3")],
        "4140614141000012254DOCK3",
        "(414)0614141000012(254)DOCK3",
    ),
    (  # 7
        [("01", "09506000134352"), ("10", "LOT42")],
        "010950600013435210LOT42",
        "(01)09506000134352(10)LOT42",
    ),
    (  # 8
        [("01", "00312345678906"), ("17", "280229"), ("10", "A1B2"), ("21", "100000000001")],
        f"01003123456789061728022910A1B2{GS}21100000000001",
        "(01)00312345678906(17)280229(10)A1B2(21)100000000001",
    ),
    (  # 9: the GS after the serial is mandatory
        [
            ("01", "09506000134352"),
            ("17", "271231"),
            ("10", "LOT42"),
            ("21", "ABC123"),
            ("712", "1234567"),
        ],
        f"01095060001343521727123110LOT42{GS}21ABC123{GS}7121234567",
        "(01)09506000134352(17)271231(10)LOT42(21)ABC123(712)1234567",
    ),
]


@pytest.mark.parametrize(("ais", "payload", "hri"), VECTORS)
def test_encode_vectors(ais: list[tuple[str, str]], payload: str, hri: str) -> None:
    element_string = encode(ais, today=TODAY)
    assert element_string == ElementString(payload=payload, hri=hri, ais=tuple(ais))


@pytest.mark.parametrize(("ais", "payload", "hri"), VECTORS)
def test_parse_vectors(ais: list[tuple[str, str]], payload: str, hri: str) -> None:
    for text in (payload, "]d2" + payload, hri):
        parsed = parse(text, today=TODAY)
        assert parsed.ais == tuple(ais)
        assert parsed.element_string.payload == payload
        assert parsed.element_string.hri == hri
        values = dict(ais)
        assert parsed.gtin == values.get("01")
        assert parsed.serial == values.get("21")
        assert parsed.lot == values.get("10")
        assert parsed.expiry == values.get("17")


def test_vector_10_symbology_identifier_is_stripped() -> None:
    parsed = parse(f"]d201095060001343521727123110LOT42{GS}21ABC123", today=TODAY)
    assert parsed.gtin == "09506000134352"
    assert parsed.serial == "ABC123"
    assert parsed.element_string.payload == f"01095060001343521727123110LOT42{GS}21ABC123"
    assert parsed.element_string.scanner_text == "]d2" + parsed.element_string.payload


def test_encode_unit_vector_1_and_9() -> None:
    assert encode_unit("09506000134352", "ABC123", "LOT42", "271231", today=TODAY).payload == (
        f"01095060001343521727123110LOT42{GS}21ABC123"
    )
    unit = encode_unit("9506000134352", "ABC123", "LOT42", "271231", [("712", "1234567")])
    assert unit.payload == f"01095060001343521727123110LOT42{GS}21ABC123{GS}7121234567"
    assert unit.get("01") == "09506000134352"  # GTIN-13 normalised
    assert unit.get("99") is None


def test_expiry_dates_of_parsed_vectors() -> None:
    assert parse(VECTORS[1][1]).expiry_date(TODAY) == dt.date(2027, 4, 30)
    assert parse(VECTORS[7][1]).expiry_date(TODAY) == dt.date(2028, 2, 29)
    assert parse(VECTORS[4][1]).expiry_date(TODAY) is None
    assert parse(VECTORS[4][1]).sscc == "106141412345678908"
    assert parse(VECTORS[5][1]).gln == "0614141000012"


def test_canonical_order_puts_predefined_length_first() -> None:
    element_string = encode(
        [("21", "S1"), ("10", "L1"), ("712", "9"), ("17", "271231"), ("01", "09506000134352")]
    )
    assert element_string.payload == f"01095060001343521727123110L1{GS}21S1{GS}7129"
    assert [ai for ai, _ in element_string.ais] == ["01", "17", "10", "21", "712"]


def test_needs_separator() -> None:
    for ai in ("00", "01", "02", "11", "17", "20", "3103", "414", "417"):
        assert not needs_separator(ai)
    for ai in ("10", "21", "22", "240", "254", "712", "7003", "8006"):
        assert needs_separator(ai)


def test_fixed_length_7003_still_needs_a_separator() -> None:
    element_string = encode([("01", "09506000134352"), ("7003", "2712311200"), ("10", "L")])
    assert element_string.payload == f"0109506000134352{'10L'}{GS}70032712311200"
    assert parse(element_string.payload).get("7003") == "2712311200"
    with pytest.raises(ValidationError, match=r"\(7003\) is not terminated"):
        parse("0109506000134352700327123112001" + "0L")


# --- scanner variants ------------------------------------------------------------------------

PAYLOAD_1 = f"01095060001343521727123110LOT42{GS}21ABC123"


@pytest.mark.parametrize(
    "text",
    [
        PAYLOAD_1,
        "]d2" + PAYLOAD_1,
        "]C1" + PAYLOAD_1,
        "]Q3" + PAYLOAD_1,
        "]e0" + PAYLOAD_1,
        PAYLOAD_1.replace(GS, "<FNC1>"),
        PAYLOAD_1.replace(GS, "[FNC1]"),
        PAYLOAD_1.replace(GS, "{FNC1}"),
        PAYLOAD_1.replace(GS, "<GS>"),
        PAYLOAD_1.replace(GS, "\u241d"),
        "<FNC1>" + PAYLOAD_1.replace(GS, "<FNC1>"),
        "]d2" + GS + PAYLOAD_1,
        PAYLOAD_1 + GS,
        PAYLOAD_1 + "\r\n",
        "  " + PAYLOAD_1,
        f"0109506000134352{GS}17271231{GS}10LOT42{GS}21ABC123",  # GS after fixed-length is ok
        f"21ABC123{GS}10LOT42{GS}0109506000134352{GS}17271231",  # any order
        "(01) 09506000134352 (17) 271231 (10) LOT42 (21) ABC123",  # HRI with spaces
        "https://id.gs1.org/01/09506000134352/10/LOT42/21/ABC123?17=271231",  # GS1 QR DL
        "]Q1https://example.com/01/09506000134352/10/LOT42/21/ABC123?17=271231",
    ],
)
def test_scanner_variants(text: str) -> None:
    parsed = parse(text, today=TODAY)
    assert parsed.element_string.payload == PAYLOAD_1
    assert (parsed.gtin, parsed.lot, parsed.serial, parsed.expiry) == (
        "09506000134352",
        "LOT42",
        "ABC123",
        "271231",
    )


def test_configurable_gs_substitute() -> None:
    text = PAYLOAD_1.replace(GS, "~")
    assert parse(text, separators=["~"]).serial == "ABC123"
    with pytest.raises(ValidationError):
        parse(text)  # "~" is not in CSET 82 and not a separator by default
    with pytest.raises(ValidationError, match="separators"):
        parse(PAYLOAD_1, separators=[""])


def test_missing_separator_is_refused_not_guessed() -> None:
    # Without GS the lot swallows the serial: LOT4221ABC123 is a valid-looking lot, but with a
    # 20-character lot followed by more data biip would cut at 20; that must be refused.
    assert parse("01095060001343521727123110LOT4221ABC123").lot == "LOT4221ABC123"
    with pytest.raises(ValidationError) as err:
        parse("010950600013435217271231" + "10" + "L" * 20 + "21ABC123")
    assert err.value.field == "lot"
    assert "not terminated" in err.value.rule


@pytest.mark.parametrize(
    ("text", "field", "rule_part"),
    [
        ("", "element_string", "empty"),
        ("]d2", "element_string", "empty"),
        ("]X9" + PAYLOAD_1, "element_string", "symbology identifier"),
        ("]Q1" + PAYLOAD_1, "element_string", ""),
        ("ABC", "element_string", "numeric Application Identifier"),
        ("0109506000134353", "gtin", "check digit must be 2, got 3"),
        ("010950600013435", "gtin", "14 digits, got 13"),
        ("01095060001343521727130110L", "expiry", "month must be 01..12, got 13"),
        ("01095060001343521727023010L", "expiry", "day must be 00..28"),
        ("0109506000134352" + "21" + "x" * 21, "serial", "got 21"),
        (f"0109506000134352{GS}21AB CD", "serial", "' '"),
        ("10LOT42", "lot", "requires (01)"),
        ("21ABC", "serial", "requires (01)"),
        ("254DOCK3", "gln_extension", "requires (414)"),
        (f"0109506000134352{GS}21A{GS}21B", "serial", "only once"),
        ("00106141412345678909", "sscc", "check digit"),
        ("4140614141000013", "gln", "check digit"),
        ("9", "element_string", "numeric Application Identifier"),
        ("0109506000134352X", "element_string", "position 17"),
        ("0109506000134352239", "element_string", "unknown Application Identifier"),
        ("(01)0950600013435", "gtin", ""),
        ("(99999)1", "hri", "expected '(AI)'"),
        ("(01)09506000134352(21)", "serial", "length"),
        ("(01)09506000134352x", "hri", "expected '(AI)'"),
        ("(23)5", "ai", "unknown Application Identifier (23)"),
        ("0109506000134352\x00", "element_string", ""),
    ],
)
def test_parse_errors(text: str, field: str, rule_part: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse(text, today=TODAY)
    assert err.value.field == field
    assert rule_part in err.value.rule


def test_parse_non_string() -> None:
    with pytest.raises(ValidationError, match="element_string: must be a string"):
        parse(b"0109506000134352")  # type: ignore[arg-type]


# --- encode validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ais", "field", "rule_part"),
    [
        ([], "ais", "at least one"),
        ([("01", "09506000134353")], "gtin", "check digit must be 2, got 3"),
        ([("01", "0950600013435")], "gtin", "check digit"),
        ([("00", "10614141234567890")], "sscc", "18 digits"),
        ([("01", "09506000134352"), ("10", "")], "lot", "length must be 1..20"),
        ([("01", "09506000134352"), ("10", "x" * 21)], "lot", "got 21"),
        ([("01", "09506000134352"), ("21", "ab#")], "serial", "'#'"),
        ([("01", "09506000134352"), ("17", "271232")], "expiry", "day must be 00..31"),
        ([("01", "09506000134352"), ("11", "2712")], "production_date", "6 digits"),
        ([("01", "09506000134352"), ("712", "a b")], "nhrn_712", "' '"),
        ([("01", "09506000134352"), ("714", "x" * 21)], "nhrn_714", "got 21"),
        ([("414", "0614141000012"), ("254", "")], "gln_extension", "length"),
        ([("01", "09506000134352"), ("02", "09506000134352")], "content_gtin", "together"),
        ([("01", "09506000134352"), ("21", "A"), ("235", "B")], "ai_235", "together"),
        ([("712", "1234567")], "nhrn_712", "requires (01)"),
        ([("1", "x")], "ai", "2- to 4-digit"),
        ([("12345", "x")], "ai", "2- to 4-digit"),
        ([("99x", "x")], "ai", "2- to 4-digit"),
        ([("999", "x")], "ai", "unknown Application Identifier (999)"),
        ([("01", 9506000134352)], "gtin", "must be a string"),
        ([("01", "09506000134352", "x")], "ais", "pair"),
        ([("01", "09506000134352"), ("7003", "271231")], "ai_7003", "N4+N10"),
        ([("01", "09506000134352"), ("240", "a b")], "ai_240", "X..30"),
        ([("01", "09506000134352"), ("01", "09506000134352")], "gtin", "only once"),
    ],
)
def test_encode_errors(ais: list[tuple[str, str]], field: str, rule_part: str) -> None:
    with pytest.raises(ValidationError) as err:
        encode(ais, today=TODAY)
    assert err.value.field == field
    assert rule_part in err.value.rule


def test_encode_rejects_non_sequences() -> None:
    for bad in ("0109506000134352", None, {("01", "09506000134352")}):
        with pytest.raises(ValidationError, match="ais"):
            encode(bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="extra"):
        encode_unit("09506000134352", "S", "L", "271231", "712=1")  # type: ignore[arg-type]


def test_encode_unit_validates_every_field() -> None:
    good = {"gtin": "09506000134352", "serial": "S", "lot": "L", "expiry": "271231"}
    for field, bad in (("gtin", "1"), ("serial", ""), ("lot", "a b"), ("expiry", "271331")):
        with pytest.raises(ValidationError) as err:
            args = {**good, field: bad}
            encode_unit(args["gtin"], args["serial"], args["lot"], args["expiry"])
        assert err.value.field == field


def test_other_ais_use_the_gs1_format_table() -> None:
    assert validate_ai_value("240", "ABC-1") == "ABC-1"
    assert validate_ai_value("7003", "2712311200") == "2712311200"
    assert validate_ai_value("15", "270100", today=TODAY) == "270100"
    assert validate_ai_value("417", "0614141000012") == "0614141000012"


# --- properties --------------------------------------------------------------------------------


@given(
    gtin14s(),
    cset82_text(),
    cset82_text(),
    EXPIRIES,
    st.lists(st.tuples(st.sampled_from(["710", "711", "712", "713", "714"]), cset82_text()),
             max_size=3, unique_by=lambda p: p[0]),
)  # fmt: skip
def test_payload_and_hri_round_trip(
    gtin: str, serial: str, lot: str, expiry: str, extra: list[tuple[str, str]]
) -> None:
    unit = encode_unit(gtin, serial, lot, expiry, extra, today=TODAY)
    for text in (unit.payload, "]d2" + unit.payload, unit.payload.replace(GS, "<FNC1>")):
        parsed = parse(text, today=TODAY)
        assert parsed.element_string == unit
        assert (parsed.gtin, parsed.serial, parsed.lot, parsed.expiry) == (
            gtin,
            serial,
            lot,
            expiry,
        )


@given(gtin14s(), cset82_text(exclude="()"), cset82_text(exclude="()"), EXPIRIES)
def test_hri_round_trip(gtin: str, serial: str, lot: str, expiry: str) -> None:
    # HRI is ambiguous when values contain "(<AI>)"; without parentheses it is exact.
    unit = encode_unit(gtin, serial, lot, expiry, today=TODAY)
    assert parse(unit.hri, today=TODAY).element_string == unit


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=80))
def test_parser_never_raises_anything_but_validation_error_on_bytes(data: bytes) -> None:
    text = data.decode("latin-1")
    for candidate in (text, "]d2" + text, "01095060001343521727123110" + text, "(01)" + text):
        with contextlib.suppress(ValidationError):
            parse(candidate)


GS1ISH = st.text(alphabet=string.digits + "()<>GSFNC1]d2\x1dABC%/~ " + "\u241d", max_size=60)


@settings(max_examples=500)
@given(GS1ISH)
def test_parser_never_raises_anything_but_validation_error_on_gs1ish_text(text: str) -> None:
    with contextlib.suppress(ValidationError):
        parse(text)


@given(st.text(max_size=60))
def test_parser_never_raises_anything_but_validation_error_on_unicode(text: str) -> None:
    with contextlib.suppress(ValidationError):
        parse(text)


def test_separator_substitutes_do_not_touch_a_digital_link() -> None:
    uri = "https://example.com/~brand/01/09506000134352/21/ABC123"
    assert parse(uri, separators=["~", "/"]).serial == "ABC123"
