"""GS1 keys (GTIN, GLN, SSCC) and US NDC ↔ GTIN-14 conversion.

Every function validates its input and raises :class:`serialtrace.errors.ValidationError`
naming the field and the broken rule.
"""

from __future__ import annotations

import re
from typing import Final

from serialtrace.errors import ValidationError
from serialtrace.gs1.checkdigit import check_digit, is_digits, verify_check_digit

__all__ = [
    "NDC_FORMATS",
    "gtin14_from_ndc",
    "make_gln",
    "make_sscc",
    "ndc11",
    "ndc_company_prefix_length",
    "ndc_format",
    "ndc_from_gtin14",
    "normalize_gtin",
    "validate_gln",
    "validate_sscc",
]

GTIN_LENGTHS: Final = (8, 12, 13, 14)
#: GS1 Company Prefix lengths GS1 allocates for keys built here (GenSpecs §1.4.4: 4..12 digits;
#: the EPC partition tables only cover 6..12, see :mod:`serialtrace.gs1.epc`).
GCP_MIN_LENGTH: Final = 4
GCP_MAX_LENGTH: Final = 12

NDC_FORMATS: Final = ("4-4-2", "5-3-2", "5-4-1")
_NDC_PATTERN: Final = re.compile(r"(\d+)-(\d+)-(\d+)", re.ASCII)


def _require_digits(value: object, field: str, lengths: tuple[int, ...]) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string of digits")
    if not is_digits(value):
        raise ValidationError(field, "must contain only ASCII digits 0-9")
    if len(value) not in lengths:
        allowed = " or ".join(str(n) for n in lengths)
        raise ValidationError(field, f"must be {allowed} digits, got {len(value)}")
    return value


def normalize_gtin(value: str, field: str = "gtin") -> str:
    """Accept a GTIN-8/12/13/14 (digits only), check its check digit, return it as GTIN-14.

    Left-padding with zeros never changes the check digit.
    """
    _require_digits(value, field, GTIN_LENGTHS)
    verify_check_digit(field, value)
    return value.zfill(14)


def validate_gln(value: str, field: str = "gln") -> str:
    """A GLN: 13 digits with a valid check digit. Returns it unchanged."""
    _require_digits(value, field, (13,))
    verify_check_digit(field, value)
    return value


def validate_sscc(value: str, field: str = "sscc") -> str:
    """An SSCC-18: 18 digits with a valid check digit. Returns it unchanged."""
    _require_digits(value, field, (18,))
    verify_check_digit(field, value)
    return value


def _validate_company_prefix(company_prefix: str, field: str = "company_prefix") -> str:
    if not is_digits(company_prefix):
        raise ValidationError(field, "must contain only ASCII digits 0-9")
    if not GCP_MIN_LENGTH <= len(company_prefix) <= GCP_MAX_LENGTH:
        raise ValidationError(
            field,
            f"length must be {GCP_MIN_LENGTH}..{GCP_MAX_LENGTH} digits, got {len(company_prefix)}",
        )
    return company_prefix


def _reference(value: int, width: int, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "must be an integer")
    if value < 0:
        raise ValidationError(field, f"must not be negative, got {value}")
    if width <= 0 or value >= 10**width:
        raise ValidationError(
            field,
            f"must fit in {width} digits with this company prefix (0..{10**width - 1}), "
            f"got {value}",
        )
    return str(value).zfill(width)


def make_sscc(company_prefix: str, extension_digit: int, serial_reference: int) -> str:
    """Build an SSCC-18: extension digit + GCP + serial reference (zero-padded) + check digit.

    GCP + serial reference fill 16 digits; a serial reference that does not fit is an error.
    """
    _validate_company_prefix(company_prefix)
    if (
        isinstance(extension_digit, bool)
        or not isinstance(extension_digit, int)
        or not 0 <= extension_digit <= 9
    ):
        raise ValidationError("extension_digit", f"must be a digit 0..9, got {extension_digit!r}")
    reference = _reference(serial_reference, 16 - len(company_prefix), "serial_reference")
    body = f"{extension_digit}{company_prefix}{reference}"
    return body + check_digit(body)


def make_gln(company_prefix: str, location_reference: int) -> str:
    """Build a GLN: GCP + location reference (zero-padded to 12 digits in all) + check digit."""
    _validate_company_prefix(company_prefix)
    width = 12 - len(company_prefix)
    if width == 0 and location_reference == 0:
        body = company_prefix
    else:
        body = company_prefix + _reference(location_reference, width, "location_reference")
    return body + check_digit(body)


def _split_ndc(ndc: str, field: str = "ndc") -> tuple[str, str, str]:
    if not isinstance(ndc, str):
        raise ValidationError(field, "must be a string")
    match = _NDC_PATTERN.fullmatch(ndc)
    if match is None:
        raise ValidationError(
            field, "must be a hyphenated 10-digit NDC in 4-4-2, 5-3-2 or 5-4-1 form"
        )
    labeler, product, package = match.groups()
    layout = f"{len(labeler)}-{len(product)}-{len(package)}"
    if layout not in NDC_FORMATS:
        raise ValidationError(field, f"segments must be 4-4-2, 5-3-2 or 5-4-1, got {layout}")
    return labeler, product, package


def ndc_format(ndc: str) -> str:
    """The segment layout of a hyphenated NDC: ``"4-4-2"``, ``"5-3-2"`` or ``"5-4-1"``."""
    labeler, product, package = _split_ndc(ndc)
    return f"{len(labeler)}-{len(product)}-{len(package)}"


def ndc_company_prefix_length(ndc: str) -> int:
    """GS1 Company Prefix length of a GTIN built from this NDC: ``03`` + labeler code (6 or 7).

    This is what the NDC layout implies; GS1 US may have issued the labeler a different prefix
    length, so confirm it per labeler before storing it as master data.
    """
    labeler, _, _ = _split_ndc(ndc)
    return 2 + len(labeler)


def gtin14_from_ndc(ndc: str, indicator: str = "0") -> str:
    """GTIN-14 of a hyphenated NDC: indicator + ``03`` + the 10 NDC digits + check digit.

    The indicator is 0 (base unit) or 1..8 (packaging levels); 9 (variable measure) is refused.
    """
    labeler, product, package = _split_ndc(ndc)
    if not isinstance(indicator, str) or len(indicator) != 1 or indicator not in "012345678":
        raise ValidationError(
            "indicator", f"must be one digit 0..8 (9 is variable measure), got {indicator!r}"
        )
    body = f"{indicator}03{labeler}{product}{package}"
    return body + check_digit(body)


def ndc11(ndc: str) -> str:
    """11-digit 5-4-2 billing form of a hyphenated NDC (one leading zero on the short segment)."""
    labeler, product, package = _split_ndc(ndc)
    return labeler.zfill(5) + product.zfill(4) + package.zfill(2)


def ndc_from_gtin14(gtin: str, ndc_format: str) -> str:
    """Hyphenated NDC embedded in a GTIN-14 (indicator + ``03`` + NDC10 + check digit).

    The GTIN does not say how the 10 digits are segmented: ``ndc_format`` comes from master data.
    """
    _require_digits(gtin, "gtin", (14,))
    verify_check_digit("gtin", gtin)
    if gtin[1:3] != "03":
        raise ValidationError(
            "gtin", f"does not embed an NDC: must start with indicator + '03', got {gtin[:3]!r}"
        )
    if ndc_format not in NDC_FORMATS:
        raise ValidationError(
            "ndc_format", f"must be one of {', '.join(NDC_FORMATS)}, got {ndc_format!r}"
        )
    digits = gtin[3:13]
    first, second, _ = (int(n) for n in ndc_format.split("-"))
    return f"{digits[:first]}-{digits[first : first + second]}-{digits[first + second :]}"
