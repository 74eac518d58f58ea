"""``serialtrace gs1 encode|parse`` commands.

Handlers raise :class:`serialtrace.errors.ValidationError` on bad input; the main CLI turns any
``SerialtraceError`` into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from serialtrace.errors import ValidationError
from serialtrace.gs1.charset import yymmdd_to_date
from serialtrace.gs1.digital_link import PRIMARY_KEYS, digital_link_from_ais
from serialtrace.gs1.element_string import GS, ElementString, encode_unit, parse
from serialtrace.gs1.epc import epc_uri_from_ais

__all__ = ["add_gs1_commands", "handle_encode", "handle_parse", "result_dict"]


def _parse_ai_option(text: str) -> tuple[str, str]:
    ai, sep, value = text.partition("=")
    ai = ai.strip().removeprefix("(").removesuffix(")")
    if not sep or not ai:
        raise ValidationError("ai", f"expected AI=VALUE, got {text!r}")
    return ai, value


def result_dict(element_string: ElementString, company_prefix_length: int | None) -> dict[str, Any]:
    """The JSON document both commands print."""
    values = dict(element_string.ais)
    expiry = values.get("17")
    has_key = any(key in values for key in PRIMARY_KEYS)
    return {
        "gtin": values.get("01"),
        "serial": values.get("21"),
        "lot": values.get("10"),
        "expiry": expiry,
        "expiry_date": None if expiry is None else yymmdd_to_date(expiry).isoformat(),
        "sscc": values.get("00"),
        "gln": values.get("414"),
        "ais": [[ai, value] for ai, value in element_string.ais],
        "element_string": element_string.payload,
        "hri": element_string.hri,
        "epc_uri": epc_uri_from_ais(element_string.ais, company_prefix_length),
        "digital_link": digital_link_from_ais(element_string.ais) if has_key else None,
    }


_LABELS = (
    ("gtin", "GTIN"),
    ("serial", "Serial"),
    ("lot", "Lot"),
    ("expiry", "Expiry"),
    ("sscc", "SSCC"),
    ("gln", "GLN"),
    ("element_string", "Element string"),
    ("hri", "HRI"),
    ("epc_uri", "EPC URI"),
    ("digital_link", "Digital Link"),
)


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for key, label in _LABELS:
        value = result[key]
        if key == "expiry" and value is not None:
            value = f"{value} ({result['expiry_date']})"
        elif key == "element_string":
            value = value.replace(GS, "<GS>")
        elif key == "epc_uri" and value is None:
            value = "(none: pass --company-prefix-length)"
        elif value is None:
            continue
        print(f"{label + ':':<16}{value}")


def handle_encode(args: argparse.Namespace) -> int:
    """``gs1 encode``: build the drug pack DataMatrix content and its other forms."""
    extra: Sequence[tuple[str, str]] = [_parse_ai_option(item) for item in args.ai or ()]
    element_string = encode_unit(args.gtin, args.serial, args.lot, args.expiry, extra)
    _print(result_dict(element_string, args.company_prefix_length), args.json)
    return 0


def handle_parse(args: argparse.Namespace) -> int:
    """``gs1 parse``: parse scanner output, HRI or a Digital Link."""
    parsed = parse(args.text, separators=args.separator or ())
    _print(result_dict(parsed.element_string, args.company_prefix_length), args.json)
    return 0


def _output_arguments(parser: argparse.ArgumentParser) -> None:
    """What both commands print: ``--company-prefix-length`` (for the EPC URI), ``--json``."""
    parser.add_argument(
        "--company-prefix-length",
        type=int,
        default=None,
        help="GS1 Company Prefix length (6..12) from master data / the GS1 GCP length table; "
        "needed for the EPC URI, never guessed",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def add_gs1_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``gs1 encode`` and ``gs1 parse`` on the main CLI's subparsers."""
    gs1 = subparsers.add_parser("gs1", help="GS1 identifiers: encode and parse DataMatrix content")
    commands = gs1.add_subparsers(dest="gs1_command", metavar="COMMAND", required=True)

    enc = commands.add_parser("encode", help="encode a drug pack identifier (01)(17)(10)(21)")
    enc.add_argument("--gtin", required=True, help="GTIN-8/12/13/14")
    enc.add_argument("--serial", required=True, help="serial number, 1..20 chars of CSET 82")
    enc.add_argument("--lot", required=True, help="batch/lot, 1..20 chars of CSET 82")
    enc.add_argument("--expiry", required=True, help="expiry YYMMDD (DD 00 = end of month)")
    enc.add_argument(
        "--ai",
        action="append",
        metavar="AI=VALUE",
        help="extra AI such as 712=1234567 (repeatable)",
    )
    _output_arguments(enc)
    enc.set_defaults(func=handle_encode)

    par = commands.add_parser("parse", help="parse scanner output, HRI or a GS1 Digital Link")
    par.add_argument("text", help="scanned text; GS may be written <GS> or <FNC1>")
    par.add_argument(
        "--separator",
        action="append",
        metavar="TEXT",
        help="extra stand-in for GS used by the scanner, e.g. '~' (repeatable)",
    )
    _output_arguments(par)
    par.set_defaults(func=handle_parse)
