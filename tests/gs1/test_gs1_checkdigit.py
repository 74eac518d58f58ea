from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serialtrace.errors import ValidationError
from serialtrace.gs1.checkdigit import check_digit, is_digits, verify_check_digit


@st.composite
def gtin14s(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet=string.digits, min_size=13, max_size=13))
    return body + check_digit(body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("0950600013435", "2"),  # GTIN 09506000134352 (vector 1)
        ("1950600013435", "9"),  # indicator 1 changes the check digit to 9 (vector 2)
        ("8061414112345", "8"),  # vector 4
        ("10614141234567890", "8"),  # SSCC vector 5
        ("061414100001", "2"),  # GLN vector 6
        ("0031234567890", "6"),  # NDC GTIN vector 8
        ("5031234567890", "1"),  # indicator 5
        ("0", "0"),
        ("1", "7"),
    ],
)
def test_known_check_digits(body: str, expected: str) -> None:
    assert check_digit(body) == expected


def test_weights_start_with_3_from_the_right() -> None:
    # 3*1 = 3 -> 7 ; 1*1 + 3*0 -> "10": 0*3 + 1*1 = 1 -> 9
    assert check_digit("10") == "9"
    assert check_digit("01") == "7"


def test_left_zero_padding_never_changes_the_check_digit() -> None:
    assert check_digit("950600013435") == check_digit("0950600013435") == "2"


@pytest.mark.parametrize("body", ["", "12a4", "12 4", "١٢٣", "²3", "-1"])
def test_check_digit_rejects_non_digits(body: str) -> None:
    with pytest.raises(ValidationError) as err:
        check_digit(body)
    assert err.value.field == "digits"


def test_verify_check_digit_ok_and_message() -> None:
    verify_check_digit("gtin", "09506000134352")
    with pytest.raises(ValidationError) as err:
        verify_check_digit("gtin", "09506000134353")
    assert err.value.field == "gtin"
    assert err.value.rule == "check digit must be 2, got 3"
    assert str(err.value) == "gtin: check digit must be 2, got 3"


@pytest.mark.parametrize("key", ["", "7", "12x4", None, 123])
def test_verify_check_digit_rejects_malformed(key: object) -> None:
    with pytest.raises(ValidationError) as err:
        verify_check_digit("sscc", key)  # type: ignore[arg-type]
    assert err.value.field == "sscc"


def test_is_digits() -> None:
    assert is_digits("0123")
    assert not is_digits("")
    assert not is_digits("١٢")
    assert not is_digits(12)


@given(st.text(alphabet=string.digits, min_size=1, max_size=30))
def test_appending_the_check_digit_verifies(body: str) -> None:
    verify_check_digit("key", body + check_digit(body))


@given(gtin14s(), st.integers(0, 13), st.integers(1, 9))
def test_any_single_digit_change_is_detected(gtin: str, position: int, delta: int) -> None:
    changed = str((int(gtin[position]) + delta) % 10)
    mutated = gtin[:position] + changed + gtin[position + 1 :]
    with pytest.raises(ValidationError):
        verify_check_digit("gtin", mutated)


@given(gtin14s(), st.integers(1, 9))
def test_a_changed_check_digit_is_detected(gtin: str, delta: int) -> None:
    mutated = gtin[:-1] + str((int(gtin[-1]) + delta) % 10)
    with pytest.raises(ValidationError, match="check digit must be"):
        verify_check_digit("gtin", mutated)
