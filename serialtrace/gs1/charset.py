"""GS1 AI encodable character set 82 (serials, lots, NHRNs) and YYMMDD dates.

CSET 82 (GS1 General Specifications §7.11, Figure 7.11-1): ``A-Z a-z 0-9`` plus the 20 symbols
``! " % & ' ( ) * + , - . / : ; < = > ? _``.

Dates (AIs 11, 17, …) are ``YYMMDD``; a day of ``00`` means the last day of the month. The century
is resolved with the sliding window of GS1 General Specifications §7.12.
"""

from __future__ import annotations

import calendar
import datetime as dt
import string

from serialtrace.errors import ValidationError
from serialtrace.gs1.checkdigit import is_digits

__all__ = [
    "CSET82",
    "date_to_yymmdd",
    "resolve_year",
    "validate_cset82",
    "validate_lot",
    "validate_serial",
    "validate_yymmdd",
    "yymmdd_to_date",
]

CSET82_SYMBOLS = "!\"%&'()*+,-./:;<=>?_"
CSET82: frozenset[str] = frozenset(string.ascii_letters + string.digits + CSET82_SYMBOLS)


def validate_cset82(value: str, field: str, *, min_length: int = 1, max_length: int = 20) -> str:
    """Check ``value`` is ``min_length..max_length`` characters of CSET 82; return it unchanged."""
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if not min_length <= len(value) <= max_length:
        raise ValidationError(
            field, f"length must be {min_length}..{max_length} characters, got {len(value)}"
        )
    for position, char in enumerate(value, start=1):
        if char not in CSET82:
            raise ValidationError(
                field,
                f"character {char!r} at position {position} is not in the GS1 AI encodable "
                "character set 82",
            )
    return value


def validate_serial(value: str, field: str = "serial") -> str:
    """A serial number (AI 21): 1..20 characters of CSET 82."""
    return validate_cset82(value, field)


def validate_lot(value: str, field: str = "lot") -> str:
    """A batch/lot number (AI 10): 1..20 characters of CSET 82."""
    return validate_cset82(value, field)


def resolve_year(two_digit_year: int, today: dt.date | None = None) -> int:
    """Four-digit year for a ``YY`` (GS1 General Specifications §7.12 sliding window).

    ``d = YY - (current year % 100)``: d in 51..99 → previous century, d in -99..-50 → next
    century, otherwise the current century (i.e. the year lies in current year -49..+50).
    """
    current = (today or dt.date.today()).year
    century = current - current % 100
    difference = two_digit_year - current % 100
    if 51 <= difference <= 99:
        return century - 100 + two_digit_year
    if -99 <= difference <= -50:
        return century + 100 + two_digit_year
    return century + two_digit_year


def _parse_yymmdd(value: str, field: str, today: dt.date | None) -> dt.date:
    if not isinstance(value, str) or len(value) != 6 or not is_digits(value):
        raise ValidationError(field, "must be 6 digits YYMMDD")
    year = resolve_year(int(value[:2]), today)
    month = int(value[2:4])
    day = int(value[4:6])
    if not 1 <= month <= 12:
        raise ValidationError(field, f"month must be 01..12, got {value[2:4]}")
    last_day = calendar.monthrange(year, month)[1]
    if day > last_day:
        raise ValidationError(
            field, f"day must be 00..{last_day} for {year:04d}-{month:02d}, got {value[4:6]}"
        )
    return dt.date(year, month, day or last_day)


def validate_yymmdd(value: str, field: str = "expiry", *, today: dt.date | None = None) -> str:
    """Check a GS1 ``YYMMDD`` date (day ``00`` allowed = last day of month); return it unchanged.

    Whether 29 February exists depends on the century, resolved relative to ``today``.
    """
    _parse_yymmdd(value, field, today)
    return value


def yymmdd_to_date(value: str, today: dt.date | None = None, *, field: str = "expiry") -> dt.date:
    """Resolve a GS1 ``YYMMDD`` to a date (century window of GS1 GenSpecs §7.12, day 00 → last)."""
    return _parse_yymmdd(value, field, today)


def date_to_yymmdd(d: dt.date) -> str:
    """Format a date as GS1 ``YYMMDD`` (the century is dropped; see :func:`resolve_year`)."""
    return f"{d.year % 100:02d}{d.month:02d}{d.day:02d}"
