"""Pure GS1 identifier domain: check digits, keys, NDC, CSET 82, dates, EPC URIs, element strings,
GS1 Digital Link. No I/O; every bad value raises :class:`serialtrace.errors.ValidationError`."""

from __future__ import annotations

from serialtrace.gs1.charset import (
    date_to_yymmdd,
    validate_lot,
    validate_serial,
    validate_yymmdd,
    yymmdd_to_date,
)
from serialtrace.gs1.checkdigit import check_digit, verify_check_digit
from serialtrace.gs1.digital_link import digital_link, digital_link_from_ais, parse_digital_link
from serialtrace.gs1.element_string import (
    GS,
    ElementString,
    ParsedElementString,
    encode,
    encode_unit,
    parse,
)
from serialtrace.gs1.epc import (
    EpcIdentifier,
    epc_uri_from_ais,
    lgtin_uri,
    parse_epc_uri,
    sgln_uri,
    sgtin_pattern_uri,
    sgtin_uri,
    sscc_uri,
)
from serialtrace.gs1.keys import (
    gtin14_from_ndc,
    make_gln,
    make_sscc,
    ndc11,
    ndc_from_gtin14,
    normalize_gtin,
    validate_gln,
    validate_sscc,
)

__all__ = [
    "GS",
    "ElementString",
    "EpcIdentifier",
    "ParsedElementString",
    "check_digit",
    "date_to_yymmdd",
    "digital_link",
    "digital_link_from_ais",
    "encode",
    "encode_unit",
    "epc_uri_from_ais",
    "gtin14_from_ndc",
    "lgtin_uri",
    "make_gln",
    "make_sscc",
    "ndc11",
    "ndc_from_gtin14",
    "normalize_gtin",
    "parse",
    "parse_digital_link",
    "parse_epc_uri",
    "sgln_uri",
    "sgtin_pattern_uri",
    "sgtin_uri",
    "sscc_uri",
    "validate_gln",
    "validate_lot",
    "validate_serial",
    "validate_sscc",
    "validate_yymmdd",
    "verify_check_digit",
    "yymmdd_to_date",
]
