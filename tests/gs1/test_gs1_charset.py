from __future__ import annotations

import datetime as dt
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serialtrace.errors import ValidationError
from serialtrace.gs1.charset import (
    CSET82,
    date_to_yymmdd,
    resolve_year,
    validate_lot,
    validate_serial,
    validate_yymmdd,
    yymmdd_to_date,
)

TODAY = dt.date(2026, 5, 4)


def cset82_text(min_size: int = 1, max_size: int = 20) -> st.SearchStrategy[str]:
    return st.text(alphabet="".join(sorted(CSET82)), min_size=min_size, max_size=max_size)


def test_cset82_has_82_characters() -> None:
    assert len(CSET82) == 82
    assert set("!\"%&'()*+,-./:;<=>?_") <= CSET82
    assert set(string.ascii_letters + string.digits) <= CSET82


@pytest.mark.parametrize(
    "value", ["ABC123", "A(1)+B", "12/34%X", "x" * 20, "!\"%&'()*+,-./:;<=>?_"]
)
def test_valid_serials_and_lots(value: str) -> None:
    assert validate_serial(value) == value
    assert validate_lot(value) == value


@pytest.mark.parametrize(
    ("value", "rule_part"),
    [
        ("", "length must be 1..20"),
        ("x" * 21, "length must be 1..20 characters, got 21"),
        ("AB C", "' '"),
        ("AB#", "'#'"),
        ("A$", "'$'"),
        ("A@", "'@'"),
        ("A[", "'['"),
        ("A\\", "'\\\\'"),
        ("A]", "']'"),
        ("A^", "'^'"),
        ("A{", "'{'"),
        ("A|", "'|'"),
        ("A}", "'}'"),
        ("A~", "'~'"),
        ("A`", "'`'"),
        ("Aé", "'é'"),
        ("A\x1d", "'\\x1d'"),
    ],
)
def test_invalid_serials_name_the_field_and_rule(value: str, rule_part: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_serial(value)
    assert err.value.field == "serial"
    assert rule_part in err.value.rule
    with pytest.raises(ValidationError) as err:
        validate_lot(value, field="batch")
    assert err.value.field == "batch"


def test_non_string_serial() -> None:
    with pytest.raises(ValidationError, match="serial: must be a string"):
        validate_serial(123)  # type: ignore[arg-type]


@given(cset82_text())
def test_any_cset82_text_is_a_valid_serial(value: str) -> None:
    assert validate_serial(value) == value


@given(st.text(min_size=1, max_size=20).filter(lambda s: any(c not in CSET82 for c in s)))
def test_any_text_outside_cset82_is_rejected(value: str) -> None:
    with pytest.raises(ValidationError):
        validate_serial(value)


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("271231", dt.date(2027, 12, 31)),  # vector 1
        ("270400", dt.date(2027, 4, 30)),  # vector 2: day 00 = last day of month
        ("280229", dt.date(2028, 2, 29)),  # vector 8: leap day
        ("280200", dt.date(2028, 2, 29)),  # day 00 in a leap February
        ("270200", dt.date(2027, 2, 28)),
        ("990101", dt.date(1999, 1, 1)),  # pitfall: read in 2026 → 1999, not 2099
        ("750101", dt.date(2075, 1, 1)),  # d = 49 → current century
        ("760101", dt.date(2076, 1, 1)),  # d = 50 → current century
        ("770101", dt.date(1977, 1, 1)),  # d = 51 → previous century
        ("000229", dt.date(2000, 2, 29)),
    ],
)
def test_yymmdd_to_date_in_2026(value: str, expected: dt.date) -> None:
    assert yymmdd_to_date(value, TODAY) == expected
    assert validate_yymmdd(value, today=TODAY) == value


def test_century_rule_next_century() -> None:
    # In 2080, "10": d = 10 - 80 = -70 → next century; "30": d = -50 → next century.
    today = dt.date(2080, 6, 1)
    assert yymmdd_to_date("100101", today) == dt.date(2110, 1, 1)
    assert yymmdd_to_date("300101", today) == dt.date(2130, 1, 1)
    assert yymmdd_to_date("310101", today) == dt.date(2031, 1, 1)  # d = -49 → current


def test_resolve_year_window() -> None:
    for yy in range(100):
        year = resolve_year(yy, TODAY)
        assert year % 100 == yy
        assert TODAY.year - 49 <= year <= TODAY.year + 50


def test_leap_day_depends_on_the_resolved_century() -> None:
    # In 2060, "00" resolves to 2100, which is not a leap year.
    with pytest.raises(ValidationError, match=r"day must be 00\.\.28 for 2100-02"):
        validate_yymmdd("000229", today=dt.date(2060, 1, 1))


@pytest.mark.parametrize(
    ("value", "rule_part"),
    [
        ("27123", "6 digits"),
        ("2712310", "6 digits"),
        ("27-231", "6 digits"),
        ("271301", "month must be 01..12, got 13"),
        ("270001", "month must be 01..12, got 00"),
        ("270230", "day must be 00..28 for 2027-02, got 30"),
        ("270431", "day must be 00..30"),
        ("270132", "day must be 00..31"),
        ("２７１２３１", "6 digits"),
    ],
)
def test_invalid_dates(value: str, rule_part: str) -> None:
    with pytest.raises(ValidationError) as err:
        validate_yymmdd(value, "expiry", today=TODAY)
    assert err.value.field == "expiry"
    assert rule_part in err.value.rule
    with pytest.raises(ValidationError) as err:
        yymmdd_to_date(value, TODAY, field="production_date")
    assert err.value.field == "production_date"


def test_date_to_yymmdd() -> None:
    assert date_to_yymmdd(dt.date(2027, 12, 31)) == "271231"
    assert date_to_yymmdd(dt.date(1999, 1, 1)) == "990101"
    assert date_to_yymmdd(dt.date(2003, 4, 5)) == "030405"


@given(st.dates(dt.date(1978, 1, 1), dt.date(2075, 12, 31)))
def test_date_round_trip_inside_the_window(d: dt.date) -> None:
    assert yymmdd_to_date(date_to_yymmdd(d), TODAY) == d


def test_default_today_is_used() -> None:
    assert yymmdd_to_date("271231") == dt.date(2027, 12, 31)
