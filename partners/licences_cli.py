"""``serialtrace partners licences load FILE.csv | list``."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from serialtrace.errors import SerialtraceError
from serialtrace.settings import resolve_home

#: Reasons printed by a rejected load (all of them are in the .reasons.csv file).
SHOWN_REASONS = 20


def add_licences_commands(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``licences load|list`` under ``serialtrace partners``."""
    licences = cmds.add_parser("licences", help="trading-partner licences (versioned)")
    lsub = licences.add_subparsers(dest="licences_command", required=True, metavar="ACTION")

    cmd = lsub.add_parser("load", help="load a licence CSV (all rows valid, or nothing lands)")
    cmd.add_argument("file", help="CSV file (columns: docs/partners.md)")
    cmd.add_argument("--source", default="csv", help="where the file came from (default: csv)")
    cmd.set_defaults(func=_cmd_load)

    cmd = lsub.add_parser("list", help="licences on record and how they stand today")
    cmd.add_argument("--partner", help="only this partner id")
    cmd.add_argument("--history", action="store_true", help="every version, not only the latest")
    cmd.set_defaults(func=_cmd_list)


def _cmd_load(args: argparse.Namespace) -> int:
    from partners.licence_loader import load_licences

    home = resolve_home(getattr(args, "home", None)).ensure()
    result = load_licences(home, Path(args.file), source=args.source)
    print(result.line())
    if result.outcome != "quarantined":
        return 0
    for error in result.errors[:SHOWN_REASONS]:
        print(f"  {error}")
    if len(result.errors) > SHOWN_REASONS:
        print(f"  ... {len(result.errors) - SHOWN_REASONS} more in {result.path}.reasons.csv")
    raise SerialtraceError(
        f"FILE: {result.file} rejected whole: {len(result.errors)} broken rules, nothing loaded"
    )


def _cmd_list(args: argparse.Namespace) -> int:
    from partners.licence_loader import licence_versions
    from partners.licences import standing

    home = resolve_home(getattr(args, "home", None))
    versions = licence_versions(home)
    if args.partner:
        versions = [v for v in versions if v["partner_id"] == args.partner]
    if not args.history:
        latest: dict[tuple[str, str], dict[str, object]] = {}
        for version in versions:
            latest[(version["issuing_authority"], version["licence_number"])] = version
        versions = list(latest.values())
    if not versions:
        print("no licence on record" + (f" for partner {args.partner}" if args.partner else ""))
        return 0
    today = dt.datetime.now(dt.UTC).date()
    for v in versions:
        until = v["valid_to"].isoformat() if v["valid_to"] else "no expiry"
        print(
            f"{v['partner_id']:<14} GLN {v['partner_gln']} {v['licence_type']:<21} "
            f"{v['licence_number']:<16} {v['issuing_authority']} "
            f"{v['valid_from']:%Y-%m-%d}..{until} {v['status']:<9} "
            f"v{v['version_number']} since {v['changed_at']:%Y-%m-%d %H:%M} UTC  "
            f"today: {standing(v['status'], v['valid_from'], v['valid_to'], today)}"
        )
    return 0
