"""``serialtrace serials decommission``: retire product after it left the line.

``add_lifecycle_commands(serials_subparsers)`` registers the command on the subparsers of
``serialtrace serials``; :func:`serials_subparsers` finds them (registered by
``serialtrace/serials/cli.py``) or creates the ``serials`` command when nobody did.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TypeAlias, cast

from serialtrace.acting import acting_name
from serialtrace.errors import ValidationError
from serialtrace.lifecycle.decommission import DecommissionRefusedError, decommission
from serialtrace.lifecycle.machine import POST_LINE_REASONS
from serialtrace.settings import resolve_home

__all__ = ["add_lifecycle_commands", "handle_decommission", "serials_subparsers"]

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def serials_subparsers(top: SubParsers) -> SubParsers:
    """The subparsers action of ``serialtrace serials``, created if absent."""
    parser = top.choices.get("serials")
    if parser is None:
        parser = top.add_parser("serials", help="serial pools, ledger and lifecycle")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return cast(SubParsers, action)
    return parser.add_subparsers(dest="serials_command", required=True, parser_class=type(parser))


def _aware(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an ISO 8601 time, got {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"must carry a UTC offset (e.g. +00:00), got {text!r}")
    return value


def add_lifecycle_commands(subparsers: SubParsers) -> None:
    reasons = sorted(r.value for r in POST_LINE_REASONS)
    cmd = subparsers.add_parser(
        "decommission",
        help="retire a serial, a case or pallet (all inside) or a lot, with a reason",
        description=(
            "Record the decommissioning of product after it left the line. Every serial is "
            "checked against the lifecycle state machine first; if one cannot change, "
            "nothing is written."
        ),
    )
    target = cmd.add_mutually_exclusive_group(required=True)
    target.add_argument("--serial", metavar="GTIN:SERIAL", help="one unit")
    target.add_argument("--sscc", metavar="SSCC", help="a case or pallet: everything inside")
    target.add_argument("--lot", metavar="GTIN:LOT", help="every serial of a lot")
    cmd.add_argument("--reason", required=True, choices=reasons)
    cmd.add_argument(
        "--user", default=argparse.SUPPRESS, help="who decommissions (the acting user, recorded)"
    )
    cmd.add_argument("--at", type=_aware, default=None, help="when it happened (default: now)")
    cmd.add_argument("--location", metavar="GLN", default=None, help="where (default: site)")
    cmd.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    cmd.add_argument("--json", action="store_true", help="print the result as JSON")
    cmd.add_argument("--home", default=argparse.SUPPRESS, help="home folder")
    cmd.set_defaults(func=handle_decommission)


def handle_decommission(args: argparse.Namespace) -> int:
    home = resolve_home(getattr(args, "home", None))
    scope, value = next(
        (name, getattr(args, name))
        for name in ("serial", "sscc", "lot")
        if getattr(args, name) is not None
    )
    try:
        result = decommission(
            home.warehouse,
            home.raw,
            scope,
            value,
            args.reason,
            acting_name(getattr(args, "user", "")),
            occurred_at=args.at,
            location_gln=args.location,
            dry_run=args.dry_run,
        )
    except DecommissionRefusedError as exc:
        if not args.json:
            raise
        refusal = {
            "refused": True,
            "reason": exc.reason,
            "checked": exc.total,
            "offenders": [
                {"serial": e.serial, "from_status": e.from_state, "rule": e.rule}
                for e in exc.offenders
            ],
        }
        print(json.dumps(refusal, indent=2))
        return 2
    except ValueError as exc:  # argparse-level problems not caught by the parser
        raise ValidationError("decommission", str(exc)) from exc
    if args.json:
        print(json.dumps({"refused": False, "dry_run": args.dry_run, **result.as_dict()}, indent=2))
        return 0
    verb = "would decommission" if args.dry_run else "decommissioned"
    print(
        f"{verb} {len(result.decommissioned):,} serial(s) of {result.scope} {result.scope_id} "
        f"({result.reason}, by {result.recorded_by})"
    )
    if result.skipped:
        print(f"  skipped {len(result.skipped):,} already final")
    if result.path is not None:
        print(f"  recorded in {result.path} (request {result.request_id})")
        print("  the warehouse and EPCIS pick it up on the next build")
    return 0
