from __future__ import annotations

import contextlib
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serialtrace.errors import ValidationError
from serialtrace.gs1.charset import CSET82
from serialtrace.gs1.checkdigit import check_digit
from serialtrace.gs1.element_string import encode
from serialtrace.gs1.epc import (
    EpcIdentifier,
    epc_escape,
    epc_unescape,
    epc_uri_from_ais,
    lgtin_uri,
    parse_epc_uri,
    sgln_uri,
    sgtin_pattern_uri,
    sgtin_uri,
    sscc_uri,
)


@st.composite
def gtin14s(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet=string.digits, min_size=13, max_size=13))
    return body + check_digit(body)


CSET82_TEXT = st.text(alphabet="".join(sorted(CSET82)), min_size=1, max_size=20)


# --- §10 test vectors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gtin", "serial", "cpl", "uri"),
    [
        ("09506000134352", "ABC123", 7, "urn:epc:id:sgtin:9506000.013435.ABC123"),  # 1, 9, 10
        ("19506000134359", "CASE0001", 7, "urn:epc:id:sgtin:9506000.113435.CASE0001"),  # 2
        ("09506000134352", "12/34%X", 7, "urn:epc:id:sgtin:9506000.013435.12%2F34%25X"),  # 3
        ("80614141123458", "A(1)+B", 7, "urn:epc:id:sgtin:0614141.812345.A(1)+B"),  # 4
        ("80614141123458", "5", 7, "urn:epc:id:sgtin:0614141.812345.5"),  # §4 example
        (
            "00312345678906",
            "100000000001",
            7,
            "urn:epc:id:sgtin:0312345.067890.100000000001",
        ),  # 8
        (
            "00312345678906",
            "100000000001",
            6,
            "urn:epc:id:sgtin:031234.0567890.100000000001",
        ),  # pitfall: NDC 1234-5678-90 has a 6-digit GCP
        ("9506000134352", "1", 12, "urn:epc:id:sgtin:950600013435.0.1"),  # GTIN-13, 12-digit GCP
    ],
)
def test_sgtin_vectors(gtin: str, serial: str, cpl: int, uri: str) -> None:
    assert sgtin_uri(gtin, serial, cpl) == uri
    parsed = parse_epc_uri(uri)
    assert parsed == EpcIdentifier(
        scheme="sgtin", company_prefix_length=cpl, gtin=gtin.zfill(14), serial=serial
    )
    assert parsed.uri == uri


def test_sscc_vector_5() -> None:
    uri = "urn:epc:id:sscc:0614141.1234567890"
    assert sscc_uri("106141412345678908", 7) == uri
    parsed = parse_epc_uri(uri)
    assert parsed.sscc == "106141412345678908"
    assert parsed.scheme == "sscc"
    assert parsed.company_prefix_length == 7
    assert parsed.ais == (("00", "106141412345678908"),)
    assert parsed.uri == uri


def test_sgln_vector_6() -> None:
    assert sgln_uri("0614141000012", 7, "DOCK3") == "urn:epc:id:sgln:0614141.00001.DOCK3"
    assert sgln_uri("0614141000012", 7) == "urn:epc:id:sgln:0614141.00001.0"
    parsed = parse_epc_uri("urn:epc:id:sgln:0614141.00001.DOCK3")
    assert parsed.gln == "0614141000012"
    assert parsed.extension == "DOCK3"
    assert parsed.ais == (("414", "0614141000012"), ("254", "DOCK3"))


def test_sgln_extension_zero_means_no_254() -> None:
    # TDS: extension "0" = no GLN extension, so the round trip gives (414) alone, not (254)0.
    parsed = parse_epc_uri("urn:epc:id:sgln:0614141.00001.0")
    assert parsed.extension == "0"
    assert parsed.ais == (("414", "0614141000012"),)
    assert epc_uri_from_ais(parsed.ais, 7) == "urn:epc:id:sgln:0614141.00001.0"


def test_sgln_with_12_digit_prefix_has_empty_location_reference() -> None:
    uri = sgln_uri("0614141000012", 12)
    assert uri == "urn:epc:id:sgln:061414100001..0"
    assert parse_epc_uri(uri).gln == "0614141000012"


def test_lgtin_vector_7() -> None:
    uri = "urn:epc:class:lgtin:9506000.013435.LOT42"
    assert lgtin_uri("09506000134352", "LOT42", 7) == uri
    parsed = parse_epc_uri(uri)
    assert (parsed.scheme, parsed.gtin, parsed.lot) == ("lgtin", "09506000134352", "LOT42")
    assert parsed.ais == (("01", "09506000134352"), ("10", "LOT42"))
    assert parsed.uri == uri


def test_sgtin_pattern() -> None:
    uri = "urn:epc:idpat:sgtin:0312345.067890.*"
    assert sgtin_pattern_uri("00312345678906", 7) == uri
    parsed = parse_epc_uri(uri)
    assert (parsed.scheme, parsed.gtin, parsed.serial) == ("idpat-sgtin", "00312345678906", None)
    assert parsed.uri == uri


def test_epc_brief_example_gtin_from_sgtin() -> None:
    # epcis-dscsa-brief §5: sgtin:4047023.077551.x → 04047023775511
    assert parse_epc_uri("urn:epc:id:sgtin:4047023.077551.x").gtin == "04047023775511"


# --- escaping ------------------------------------------------------------------------------


def test_escape_table() -> None:
    assert epc_escape('"%&/<>?') == "%22%25%26%2F%3C%3E%3F"
    assert epc_escape("Az09!'()*+,-.:;=_") == "Az09!'()*+,-.:;=_"
    assert epc_unescape("%22%25%26%2f%3C%3E%3F", "serial") == '"%&/<>?'


@pytest.mark.parametrize("bad", ["A%41", "A%2", "A%", "A/B", "A B", "A#", "A&B", "A?"])
def test_unescape_rejects(bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        epc_unescape(bad, "serial")
    assert err.value.field == "serial"


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("cpl", [5, 13, 0, -1])
def test_company_prefix_length_range(cpl: int) -> None:
    with pytest.raises(ValidationError) as err:
        sgtin_uri("09506000134352", "1", cpl)
    assert err.value.field == "company_prefix_length"
    assert "6..12" in err.value.rule


def test_company_prefix_length_type() -> None:
    for bad in ("7", 7.0, True):
        with pytest.raises(ValidationError, match="company_prefix_length"):
            sscc_uri("106141412345678908", bad)  # type: ignore[arg-type]


def test_builders_validate_their_inputs() -> None:
    with pytest.raises(ValidationError, match="gtin: check digit"):
        sgtin_uri("09506000134353", "1", 7)
    with pytest.raises(ValidationError, match="serial: length"):
        sgtin_uri("09506000134352", "", 7)
    with pytest.raises(ValidationError, match="serial: character ' '"):
        sgtin_uri("09506000134352", "A B", 7)
    with pytest.raises(ValidationError, match="lot: length"):
        lgtin_uri("09506000134352", "x" * 21, 7)
    with pytest.raises(ValidationError, match="sscc: check digit"):
        sscc_uri("106141412345678909", 7)
    with pytest.raises(ValidationError, match="gln: check digit"):
        sgln_uri("0614141000013", 7)
    with pytest.raises(ValidationError, match="extension"):
        sgln_uri("0614141000012", 7, "")


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "urn:epc:id:sgtin:",
        "urn:epc:id:sgtin:9506000.013435",
        "urn:epc:id:sgtin:9506000.01343.ABC",  # 12 digits
        "urn:epc:id:sgtin:95060.0134352.ABC",  # 5-digit prefix
        "urn:epc:id:sgtin:9506000.013435.",  # empty serial
        "urn:epc:id:sgtin:9506000.013435.A B",
        "urn:epc:id:sgtin:9506000.013435.%41",
        "urn:epc:id:sgtin:9506000.013435." + "x" * 21,
        "urn:epc:id:sgtin:950600013435..ABC",
        "urn:epc:id:sgtin:9506000.0134a5.ABC",
        "urn:epc:id:sscc:0614141.123456789",
        "urn:epc:id:sscc:0614141.1234567890.1",
        "urn:epc:id:sgln:0614141.00001",
        "urn:epc:id:sgln:0614141.00001.",
        "urn:epc:class:lgtin:9506000.013435.",
        "urn:epc:idpat:sgtin:9506000.013435.1",
        "urn:epc:idpat:sgtin:9506000.*.*",
        "urn:epc:id:giai:0614141.12345",
        "https://id.gs1.org/01/09506000134352",
    ],
)
def test_parse_epc_uri_rejects(uri: str) -> None:
    with pytest.raises(ValidationError):
        parse_epc_uri(uri)


def test_parse_epc_uri_non_string() -> None:
    with pytest.raises(ValidationError, match="epc_uri: must be a string"):
        parse_epc_uri(None)  # type: ignore[arg-type]


def test_serial_may_contain_dots() -> None:
    parsed = parse_epc_uri("urn:epc:id:sgtin:9506000.013435.A.B.C")
    assert parsed.serial == "A.B.C"


def test_epc_uri_from_ais() -> None:
    assert epc_uri_from_ais([("01", "09506000134352"), ("21", "ABC123")], None) is None
    assert (
        epc_uri_from_ais([("01", "09506000134352"), ("10", "L"), ("21", "S")], 7)
        == "urn:epc:id:sgtin:9506000.013435.S"
    )
    assert (
        epc_uri_from_ais([("01", "09506000134352"), ("10", "L")], 7)
        == "urn:epc:class:lgtin:9506000.013435.L"
    )
    assert epc_uri_from_ais([("01", "09506000134352")], 7) == "urn:epc:idpat:sgtin:9506000.013435.*"
    assert epc_uri_from_ais([("00", "106141412345678908")], 7) == (
        "urn:epc:id:sscc:0614141.1234567890"
    )
    assert epc_uri_from_ais([("17", "271231")], 7) is None


def test_incomplete_identifier_has_no_uri() -> None:
    with pytest.raises(ValidationError, match="epc_uri: incomplete sgtin"):
        _ = EpcIdentifier(scheme="sgtin", company_prefix_length=7).uri
    assert EpcIdentifier(scheme="sgtin", company_prefix_length=7).ais == ()


# --- properties ----------------------------------------------------------------------------


@given(gtin14s(), CSET82_TEXT, st.integers(6, 12))
def test_sgtin_round_trip(gtin: str, serial: str, cpl: int) -> None:
    uri = sgtin_uri(gtin, serial, cpl)
    parsed = parse_epc_uri(uri)
    assert (parsed.gtin, parsed.serial, parsed.company_prefix_length) == (gtin, serial, cpl)
    assert parsed.uri == uri
    # EPC URI → element string → EPC URI
    element_string = encode(parsed.ais)
    assert epc_uri_from_ais(element_string.ais, cpl) == uri


@given(gtin14s(), CSET82_TEXT, st.integers(6, 12))
def test_lgtin_round_trip(gtin: str, lot: str, cpl: int) -> None:
    parsed = parse_epc_uri(lgtin_uri(gtin, lot, cpl))
    assert (parsed.gtin, parsed.lot) == (gtin, lot)


@given(st.text(alphabet=string.digits, min_size=17, max_size=17), st.integers(6, 12))
def test_sscc_round_trip(body: str, cpl: int) -> None:
    sscc = body + check_digit(body)
    assert parse_epc_uri(sscc_uri(sscc, cpl)).sscc == sscc


@given(st.text(alphabet=string.digits, min_size=12, max_size=12), st.integers(6, 12), CSET82_TEXT)
def test_sgln_round_trip(body: str, cpl: int, extension: str) -> None:
    gln = body + check_digit(body)
    parsed = parse_epc_uri(sgln_uri(gln, cpl, extension))
    assert (parsed.gln, parsed.extension) == (gln, extension)


@given(st.text(max_size=80))
def test_parse_epc_uri_only_raises_validation_error(text: str) -> None:
    for candidate in (text, "urn:epc:id:sgtin:" + text, "urn:epc:id:sgln:0614141." + text):
        with contextlib.suppress(ValidationError):
            parse_epc_uri(candidate)
