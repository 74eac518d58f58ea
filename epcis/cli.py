"""``serialtrace epcis …``: validate, convert (and render / ingest, see below)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from serialtrace.errors import SerialtraceError


def _cmd_validate(args: argparse.Namespace) -> int:
    from epcis.check import check_file
    from epcis.validate import EpcisValidationError

    bad = 0
    for name in args.files:
        path = Path(name)
        try:
            report = check_file(path)
        except (EpcisValidationError, OSError, UnicodeDecodeError) as exc:
            print(f"{path}: INVALID: {exc}")
            bad += 1
            continue
        if report.valid:
            print(f"{path}: valid ({report.schema})")
            continue
        bad += 1
        print(f"{path}: INVALID against {report.schema}: {len(report.errors)} error(s)")
        for error in report.errors:
            print(f"  {path}:{error}")
    return 1 if bad else 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from epcis.convert import convert, convert_to_stdout

    source = Path(args.file)
    if args.out is None:
        stats = convert_to_stdout(source, args.to)
    else:
        stats = convert(source, args.to, Path(args.out))
    print(
        f"converted {source} -> {args.to}: {stats.events} events, {stats.epcs} EPCs, "
        f"valid{'' if args.out is None else f', written to {stats.path}'}",
        file=sys.stderr,
    )
    return 0


def add_epcis_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serialtrace epcis …``."""
    from epcis.writers import FORMATS

    epcis = sub.add_parser("epcis", help="EPCIS documents: validate, convert, render, ingest")
    commands = epcis.add_subparsers(dest="epcis_command", required=True)

    validate = commands.add_parser(
        "validate", help="validate EPCIS files against the official schemas (every error)"
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(func=_cmd_validate)

    convert = commands.add_parser(
        "convert", help="convert an EPCIS document between 1.2 XML, 2.0 XML and 2.0 JSON-LD"
    )
    convert.add_argument("file", metavar="FILE")
    convert.add_argument("--to", required=True, choices=FORMATS)
    convert.add_argument("--out", metavar="PATH", help="output file (default: standard output)")
    convert.set_defaults(func=_cmd_convert)


__all__ = ["SerialtraceError", "add_epcis_commands"]
