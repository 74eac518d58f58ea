from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serialtrace.errors import ValidationError
from serialtrace.gs1.checkdigit import check_digit
from serialtrace.gs1.keys import (
    gtin14_from_ndc,
    make_gln,
    make_sscc,
    ndc11,
    ndc_company_prefix_length,
    ndc_format,
    ndc_from_gtin14,
    normalize_gtin,
    validate_gln,
    validate_sscc,
)

# --- GTIN --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("09506000134352", "09506000134352"),  # GTIN-14
        ("9506000134352", "09506000134352"),  # GTIN-13
        ("614141123452", "00614141123452"),  # GTIN-12 (UPC-A)
        ("95060002", "00000095060002"),  # GTIN-8
        ("19506000134359", "19506000134359"),  # case, indicator 1
    ],
)
def test_normalize_gtin(value: str, expected: str) -> None:
    assert normalize_gtin(value) == expected


@pytest.mark.parametrize(
    ("value", "rule_part"),
    [
        ("0950600013435", "check digit must be 9, got 5"),  # 13 digits, wrong check
        ("09506000134353", "check digit must be 2, got 3"),
        ("19506000134352", "check digit must be 9, got 2"),  # indicator changed, check not
        ("123456789", "must be 8 or 12 or 13 or 14 digits, got 9"),
        ("095060001343521", "got 15"),
        ("", "must contain only ASCII digits"),
        ("0950600013435X", "must contain only ASCII digits"),
        (" 09506000134352", "must contain only ASCII digits"),
        ("٠٩٥٠٦٠٠٠١٣٤٣٥٢", "must contain only ASCII digits"),
    ],
)
def test_normalize_gtin_errors(value: str, rule_part: str) -> None:
    with pytest.raises(ValidationError) as err:
        normalize_gtin(value, field="product_gtin")
    assert err.value.field == "product_gtin"
    assert rule_part in err.value.rule


def test_normalize_gtin_non_string() -> None:
    with pytest.raises(ValidationError, match="gtin: must be a string"):
        normalize_gtin(9506000134352)  # type: ignore[arg-type]


@given(st.text(alphabet=string.digits, min_size=7, max_size=13))
def test_padding_never_changes_validity(body: str) -> None:
    gtin = body + check_digit(body)
    if len(gtin) in (8, 12, 13, 14):
        assert normalize_gtin(gtin) == gtin.zfill(14)


# --- GLN / SSCC --------------------------------------------------------------------------


def test_validate_gln_and_sscc() -> None:
    assert validate_gln("0614141000012") == "0614141000012"
    assert validate_sscc("106141412345678908") == "106141412345678908"


@pytest.mark.parametrize(
    ("func", "value", "field", "rule_part"),
    [
        (validate_gln, "0614141000013", "gln", "check digit must be 2, got 3"),
        (validate_gln, "061414100001", "gln", "must be 13 digits, got 12"),
        (validate_gln, "06141410000A2", "gln", "ASCII digits"),
        (validate_sscc, "106141412345678909", "sscc", "check digit must be 8, got 9"),
        (validate_sscc, "10614141234567890", "sscc", "must be 18 digits, got 17"),
    ],
)
def test_gln_sscc_errors(func: object, value: str, field: str, rule_part: str) -> None:
    assert callable(func)
    with pytest.raises(ValidationError) as err:
        func(value)
    assert err.value.field == field
    assert rule_part in err.value.rule


def test_make_sscc_vector_5() -> None:
    assert make_sscc("0614141", 1, 234567890) == "106141412345678908"


def test_make_sscc_pads_the_serial_reference() -> None:
    sscc = make_sscc("0614141", 0, 5)
    assert sscc[:17] == "00614141000000005"
    validate_sscc(sscc)
    assert make_sscc("061414112345", 9, 9999)[:17] == "90614141123459999"


@pytest.mark.parametrize(
    ("args", "field", "rule_part"),
    [
        (("0614141", 1, 10**9), "serial_reference", "must fit in 9 digits"),
        (("061414112345", 1, 10_000), "serial_reference", "must fit in 4 digits"),
        (("0614141", 1, -1), "serial_reference", "must not be negative"),
        (("0614141", 10, 1), "extension_digit", "must be a digit 0..9"),
        (("0614141", -1, 1), "extension_digit", "must be a digit 0..9"),
        (("06141A1", 1, 1), "company_prefix", "ASCII digits"),
        (("061", 1, 1), "company_prefix", "length must be 4..12 digits, got 3"),
        (("0614141123456", 1, 1), "company_prefix", "got 13"),
    ],
)
def test_make_sscc_errors(args: tuple[str, int, int], field: str, rule_part: str) -> None:
    with pytest.raises(ValidationError) as err:
        make_sscc(*args)
    assert err.value.field == field
    assert rule_part in err.value.rule


def test_make_sscc_rejects_non_integers() -> None:
    with pytest.raises(ValidationError, match="serial_reference: must be an integer"):
        make_sscc("0614141", 1, "5")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="extension_digit"):
        make_sscc("0614141", True, 5)


@given(
    st.text(alphabet=string.digits, min_size=4, max_size=12),
    st.integers(0, 9),
    st.data(),
)
def test_make_sscc_always_valid(cp: str, ext: int, data: st.DataObject) -> None:
    reference = data.draw(st.integers(0, 10 ** (16 - len(cp)) - 1))
    sscc = make_sscc(cp, ext, reference)
    assert validate_sscc(sscc) == sscc
    assert sscc[0] == str(ext)
    assert sscc[1 : 1 + len(cp)] == cp
    assert int(sscc[1 + len(cp) : 17]) == reference


def test_make_gln() -> None:
    assert make_gln("0614141", 1) == "0614141000012"
    assert make_gln("061414100001", 0) == "0614141000012"
    with pytest.raises(ValidationError, match="location_reference: must fit in 5 digits"):
        make_gln("0614141", 100_000)
    with pytest.raises(ValidationError, match="location_reference: must fit in 0 digits"):
        make_gln("061414100001", 1)
    with pytest.raises(ValidationError, match="location_reference: must not be negative"):
        make_gln("0614141", -3)
    with pytest.raises(ValidationError, match="company_prefix"):
        make_gln("06", 1)


# --- NDC ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ndc", "gtin", "billing", "layout", "cpl"),
    [
        ("12345-678-90", "00312345678906", "12345067890", "5-3-2", 7),  # vector 8
        ("1234-5678-90", "00312345678906", "01234567890", "4-4-2", 6),  # pitfall: same GTIN
        ("12345-6789-0", "00312345678906", "12345678900", "5-4-1", 7),
    ],
)
def test_ndc_conversions(ndc: str, gtin: str, billing: str, layout: str, cpl: int) -> None:
    assert gtin14_from_ndc(ndc) == gtin
    assert ndc11(ndc) == billing
    assert ndc_format(ndc) == layout
    assert ndc_company_prefix_length(ndc) == cpl
    assert ndc_from_gtin14(gtin, layout) == ndc


def test_ndc_indicator() -> None:
    assert gtin14_from_ndc("12345-678-90", "5") == "50312345678901"  # vector 8 note
    assert ndc_from_gtin14("50312345678901", "5-3-2") == "12345-678-90"
    for bad in ("9", "10", "", "a", 1):
        with pytest.raises(ValidationError) as err:
            gtin14_from_ndc("12345-678-90", bad)  # type: ignore[arg-type]
        assert err.value.field == "indicator"


def test_ndc11_billing_examples_from_the_brief() -> None:
    assert ndc11("1234-5678-90") == "01234567890"  # 01234-5678-90
    assert ndc11("12345-678-90") == "12345067890"  # 12345-0678-90
    assert ndc11("12345-6789-0") == "12345678900"  # 12345-6789-00


@pytest.mark.parametrize(
    "ndc",
    ["1234567890", "12345-67890", "123-4567-890", "12345-678-9", "1234-567-89", "12345_678_90",
     "12345-678-90 ", "١٢٣٤٥-٦٧٨-٩٠", "", "12345-6789-01"],
)  # fmt: skip
def test_bad_ndc(ndc: str) -> None:
    for func in (gtin14_from_ndc, ndc11, ndc_format, ndc_company_prefix_length):
        with pytest.raises(ValidationError) as err:
            func(ndc)
        assert err.value.field == "ndc"


def test_ndc_from_gtin14_errors() -> None:
    with pytest.raises(ValidationError, match="gtin: does not embed an NDC"):
        ndc_from_gtin14("09506000134352", "5-3-2")
    with pytest.raises(ValidationError, match="gtin: check digit must be 6, got 7"):
        ndc_from_gtin14("00312345678907", "5-3-2")
    with pytest.raises(ValidationError, match="gtin: must be 14 digits"):
        ndc_from_gtin14("312345678906", "5-3-2")
    with pytest.raises(ValidationError) as err:
        ndc_from_gtin14("00312345678906", "6-4-2")
    assert err.value.field == "ndc_format"


@given(
    st.sampled_from(["4-4-2", "5-3-2", "5-4-1"]),
    st.text(alphabet=string.digits, min_size=10, max_size=10),
    st.sampled_from("012345678"),
)
def test_ndc_gtin_round_trip(layout: str, digits: str, indicator: str) -> None:
    a, b, _ = (int(n) for n in layout.split("-"))
    ndc = f"{digits[:a]}-{digits[a : a + b]}-{digits[a + b :]}"
    gtin = gtin14_from_ndc(ndc, indicator)
    assert normalize_gtin(gtin) == gtin
    assert gtin[:3] == indicator + "03"
    assert ndc_from_gtin14(gtin, layout) == ndc
    assert len(ndc11(ndc)) == 11
