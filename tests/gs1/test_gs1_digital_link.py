from __future__ import annotations

import contextlib
import datetime as dt
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serialtrace.errors import ValidationError
from serialtrace.gs1.charset import CSET82, date_to_yymmdd
from serialtrace.gs1.checkdigit import check_digit
from serialtrace.gs1.digital_link import digital_link, digital_link_from_ais, parse_digital_link
from serialtrace.gs1.element_string import GS, encode_unit, parse
from serialtrace.gs1.epc import epc_uri_from_ais, parse_epc_uri, sgtin_uri

TODAY = dt.date(2026, 5, 4)
ID = "https://id.gs1.org"


@st.composite
def gtin14s(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet=string.digits, min_size=13, max_size=13))
    return body + check_digit(body)


CSET82_TEXT = st.text(alphabet="".join(sorted(CSET82)), min_size=1, max_size=20)
EXPIRIES = st.dates(dt.date(1978, 1, 1), dt.date(2075, 12, 31)).map(date_to_yymmdd)


# --- §10 test vectors --------------------------------------------------------------------------

DL_VECTORS = [
    (
        "09506000134352",
        "ABC123",
        "LOT42",
        "271231",
        (),
        "/01/09506000134352/10/LOT42/21/ABC123?17=271231",
    ),
    (
        "19506000134359",
        "CASE0001",
        "B7",
        "270400",
        (),
        "/01/19506000134359/10/B7/21/CASE0001?17=270400",
    ),
    (
        "09506000134352",
        "12/34%X",
        "LOT42",
        "271231",
        (),
        "/01/09506000134352/10/LOT42/21/12%2F34%25X?17=271231",
    ),
    ("80614141123458", "A(1)+B", None, None, (), "/01/80614141123458/21/A%281%29%2BB"),
    ("09506000134352", None, "LOT42", None, (), "/01/09506000134352/10/LOT42"),
    (
        "00312345678906",
        "100000000001",
        "A1B2",
        "280229",
        (),
        "/01/00312345678906/10/A1B2/21/100000000001?17=280229",
    ),
    (
        "09506000134352",
        "ABC123",
        "LOT42",
        "271231",
        (("712", "1234567"),),
        "/01/09506000134352/10/LOT42/21/ABC123?17=271231&712=1234567",
    ),
]


@pytest.mark.parametrize(("gtin", "serial", "lot", "expiry", "extra", "path"), DL_VECTORS)
def test_digital_link_vectors(
    gtin: str,
    serial: str | None,
    lot: str | None,
    expiry: str | None,
    extra: tuple[tuple[str, str], ...],
    path: str,
) -> None:
    uri = digital_link(gtin, serial=serial, lot=lot, expiry=expiry, extra=extra)
    assert uri == ID + path
    parsed = parse_digital_link(uri, today=TODAY)
    assert (parsed.gtin, parsed.serial, parsed.lot, parsed.expiry) == (gtin, serial, lot, expiry)
    assert dict(parsed.ais) == {
        "01": gtin,
        **({"10": lot} if lot else {}),
        **({"21": serial} if serial else {}),
        **({"17": expiry} if expiry else {}),
        **dict(extra),
    }


def test_vector_5_and_6_other_primary_keys() -> None:
    assert digital_link_from_ais([("00", "106141412345678908")]) == ID + "/00/106141412345678908"
    assert (
        digital_link_from_ais([("414", "0614141000012"), ("254", "DOCK3")])
        == ID + "/414/0614141000012/254/DOCK3"
    )
    assert parse_digital_link(ID + "/00/106141412345678908").sscc == "106141412345678908"
    parsed = parse_digital_link(ID + "/414/0614141000012/254/DOCK3")
    assert parsed.element_string.payload == "4140614141000012254DOCK3"
    assert digital_link_from_ais([("417", "0614141000012")]) == ID + "/417/0614141000012"


def test_vector_1_all_three_forms_agree() -> None:
    from_scan = parse(f"]d201095060001343521727123110LOT42{GS}21ABC123", today=TODAY)
    from_dl = parse_digital_link(ID + "/01/09506000134352/10/LOT42/21/ABC123?17=271231")
    from_epc = parse_epc_uri("urn:epc:id:sgtin:9506000.013435.ABC123")
    assert from_scan.element_string == from_dl.element_string
    assert from_epc.gtin == from_dl.gtin and from_epc.serial == from_dl.serial
    assert digital_link_from_ais(from_scan.element_string.ais) == from_dl_uri()


def from_dl_uri() -> str:
    return ID + "/01/09506000134352/10/LOT42/21/ABC123?17=271231"


def test_percent_encoding_is_stricter_than_epc() -> None:
    serial = "A(1)+B"
    assert sgtin_uri("80614141123458", serial, 7).endswith(".A(1)+B")
    assert digital_link("80614141123458", serial).endswith("/21/A%281%29%2BB")
    every_symbol = "!\"%&'()*+,-./:;<=>?_"
    uri = digital_link("09506000134352", lot="x" + every_symbol[:19])
    assert uri.split("/10/")[1] == "x%21%22%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D%3E%3F"
    assert parse_digital_link(uri).lot == "x" + every_symbol[:19]


def test_custom_base_and_prefix() -> None:
    uri = digital_link("09506000134352", serial="S1", base="https://brand.example/dl/")
    assert uri == "https://brand.example/dl/01/09506000134352/21/S1"
    assert parse_digital_link(uri).serial == "S1"


@pytest.mark.parametrize(
    "base", ["ftp://x", "id.gs1.org", "https://", "https://x?a=1", "https://x#f", "http://[", 5]
)
def test_bad_base(base: str) -> None:
    with pytest.raises(ValidationError) as err:
        digital_link("09506000134352", base=base)
    assert err.value.field == "base"


# --- input flexibility -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://id.gs1.org/01/09506000134352/10/LOT42/21/ABC123?17=271231",
        "https://example.com/01/9506000134352/10/LOT42/21/ABC123?17=271231",  # GTIN-13
        "http://vrs.example.net/some/prefix/01/09506000134352/10/LOT42/21/ABC123?17=271231",
        "https://example.com/gtin/09506000134352/lot/LOT42/ser/ABC123?exp=271231",  # DL 1.0
        "https://example.com/01/09506000134352/21/ABC123?10=LOT42&17=271231",  # lot in query
        "https://example.com/01/09506000134352/10/LOT42/21/ABC123?17=271231"
        "&linkType=verificationService&context=dscsaSaleableReturn&reqGLN=9506000000015",
        "https://example.com/01/09506000134352/10/LO%54%342/21/ABC123?17=271231#frag",
        "  https://id.gs1.org/01/09506000134352/10/LOT42/21/ABC123?17=271231&  ",
    ],
)
def test_parse_digital_link_variants(uri: str) -> None:
    parsed = parse_digital_link(uri, today=TODAY)
    assert parsed.element_string.payload == f"01095060001343521727123110LOT42{GS}21ABC123"


def test_gtin8_and_gtin12_are_normalised() -> None:
    assert parse_digital_link("https://x/01/95060002").gtin == "00000095060002"
    assert parse_digital_link("https://x/gtin/614141123452").gtin == "00614141123452"


def test_plus_is_literal_in_the_query() -> None:
    parsed = parse_digital_link("https://x/01/09506000134352/21/S?10=A+B")
    assert parsed.lot == "A+B"


@pytest.mark.parametrize(
    ("uri", "field", "rule_part"),
    [
        ("urn:epc:id:sgtin:9506000.013435.ABC123", "digital_link", "http"),
        ("https:///01/09506000134352", "digital_link", "host"),
        ("https://x/", "digital_link", "primary key"),
        ("https://x/01", "digital_link", "primary key"),
        ("https://x/01/09506000134352/10", "digital_link", "primary key"),
        ("https://x/01/09506000134353", "gtin", "check digit must be 2, got 3"),
        ("https://x/01/09506000134352/21/S/10/L", "digital_link", "order 22/10/21/235"),
        ("https://x/01/09506000134352/17/271231", "digital_link", "key qualifier"),
        ("https://x/01/09506000134352/21/A/235/B", "digital_link", "mutually exclusive"),
        ("https://x/01/09506000134352?21=ABC", "digital_link", "path-only"),
        ("https://x/01/09506000134352?01=09506000134352", "digital_link", "must not be in"),
        ("https://x/01/09506000134352/10/L?10=L", "digital_link", "both path and query"),
        ("https://x/01/09506000134352?17=271231&17=271231", "expiry", "only once"),
        ("https://x/01/09506000134352?17=271331", "expiry", "month"),
        ("https://x/01/09506000134352?17", "digital_link", "has no value"),
        ("https://x/01/09506000134352/21/A%20B", "serial", "' '"),
        ("https://x/01/09506000134352/21/A%2", "digital_link", "percent-encoding"),
        ("https://x/01/09506000134352/21/A%FF", "digital_link", "UTF-8"),
        ("https://x/01/09506000134352/21/%C3%A9", "serial", "'é'"),
        ("https://x/01/09506000134352?999=1", "ai", "unknown Application Identifier"),
        ("https://x/00/106141412345678908/21/1", "digital_link", "(none)"),
        ("https://x/414/0614141000012?254=DOCK3", "digital_link", "path-only"),
        ("http://[/01/09506000134352", "digital_link", "valid URI"),
    ],
)
def test_parse_digital_link_errors(uri: str, field: str, rule_part: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_digital_link(uri, today=TODAY)
    assert err.value.field == field
    assert rule_part in err.value.rule


def test_parse_digital_link_non_string() -> None:
    with pytest.raises(ValidationError, match="digital_link: must be a string"):
        parse_digital_link(None)  # type: ignore[arg-type]


def test_digital_link_validates_inputs() -> None:
    with pytest.raises(ValidationError, match="gtin: check digit"):
        digital_link("09506000134353")
    with pytest.raises(ValidationError, match="serial: character ' '"):
        digital_link("09506000134352", serial="A B")
    with pytest.raises(ValidationError, match="expiry"):
        digital_link("09506000134352", expiry="2712")
    with pytest.raises(ValidationError, match="extra"):
        digital_link("09506000134352", extra="712=1")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="exactly one primary key"):
        digital_link_from_ais([("01", "09506000134352"), ("00", "106141412345678908")])


# --- properties --------------------------------------------------------------------------------


@given(gtin14s(), CSET82_TEXT, CSET82_TEXT, EXPIRIES, st.integers(6, 12))
def test_element_string_dl_epc_round_trip(
    gtin: str, serial: str, lot: str, expiry: str, cpl: int
) -> None:
    unit = encode_unit(gtin, serial, lot, expiry, today=TODAY)
    uri = digital_link(gtin, serial=serial, lot=lot, expiry=expiry)
    # element string → DL → element string
    assert digital_link_from_ais(unit.ais) == uri
    assert parse_digital_link(uri, today=TODAY).element_string == unit
    # element string → EPC URI → element string (EPC carries GTIN + serial only)
    epc = epc_uri_from_ais(unit.ais, cpl)
    assert epc is not None
    identifier = parse_epc_uri(epc)
    assert identifier.ais == (("01", gtin), ("21", serial))
    # EPC URI → DL → EPC URI
    dl_from_epc = digital_link_from_ais(identifier.ais)
    assert epc_uri_from_ais(parse_digital_link(dl_from_epc).ais, cpl) == epc


@given(st.text(max_size=60))
def test_parse_digital_link_only_raises_validation_error(text: str) -> None:
    for candidate in (text, "https://x/01/" + text, "https://x/01/09506000134352?" + text):
        with contextlib.suppress(ValidationError):
            parse_digital_link(candidate)
