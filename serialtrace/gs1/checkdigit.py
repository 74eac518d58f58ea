"""GS1 mod-10 check digit (GTIN, GLN, SSCC and every other GS1 key with a check digit).

GS1 General Specifications §7.9.1: weight the digits before the check digit 3, 1, 3, 1, …
starting from the rightmost one, sum them, and take ``(10 - sum % 10) % 10``.
"""

from __future__ import annotations

from serialtrace.errors import ValidationError

__all__ = ["check_digit", "is_digits", "verify_check_digit"]


def is_digits(value: object) -> bool:
    """True if ``value`` is a non-empty string of ASCII digits 0-9 (no other Unicode digits)."""
    return isinstance(value, str) and value.isascii() and value.isdigit()


def check_digit(body: str) -> str:
    """Return the GS1 mod-10 check digit of a digit string of any length (at least one digit)."""
    if not is_digits(body):
        raise ValidationError("digits", "must be one or more ASCII digits 0-9")
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def verify_check_digit(field: str, key: str) -> None:
    """Raise ``ValidationError(field, ...)`` unless the last digit of ``key`` is its check digit."""
    if not is_digits(key) or len(key) < 2:
        raise ValidationError(field, "must be at least 2 ASCII digits 0-9 (body + check digit)")
    expected = check_digit(key[:-1])
    if key[-1] != expected:
        raise ValidationError(field, f"check digit must be {expected}, got {key[-1]}")
