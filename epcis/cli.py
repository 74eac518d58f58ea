"""``serialtrace epcis …``: validate, convert (and render / ingest, see below)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from serialtrace.errors import SerialtraceError


def _formats(choice: str) -> tuple[str, ...]:
    """The formats a ``--format`` choice names (``all``: the three)."""
    from epcis.writers import FORMATS

    return FORMATS if choice == "all" else (choice,)


def _outbox(args: argparse.Namespace) -> Path | None:
    return Path(args.outbox) if args.outbox else None


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


def _cmd_ship(args: argparse.Namespace) -> int:
    from epcis.shipping import record_shipment
    from serialtrace.settings import resolve_home

    home = resolve_home(getattr(args, "home", None))
    shipment = record_shipment(
        home,
        args.work_order,
        args.to,
        destination_location_gln=args.to_location,
        po_number=args.po,
        despatch_advice=args.desadv,
    )
    print(
        f"shipment {shipment.shipment_id}: {len(shipment.containers)} container(s) "
        f"({', '.join(s for s, _ in shipment.containers)}), {shipment.units} units "
        f"to {shipment.destination_party_gln}; recorded in {shipment.path}"
    )
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from epcis.shipping import render_shipment
    from serialtrace.settings import resolve_home

    home = resolve_home(getattr(args, "home", None))
    receiver = args.to
    chosen = args.format
    history = args.transaction_history
    if args.partner is not None:  # the partner's GLN, EPCIS format, history (partners.toml)
        from partners.config import get_partner

        partner = get_partner(home, args.partner)
        if receiver is not None and receiver != partner.gln:
            raise SerialtraceError(
                f"--to {receiver} is not partner {partner.id}'s GLN {partner.gln}"
            )
        receiver = partner.gln
        chosen = chosen or partner.epcis_format
        if history is None and partner.transaction_history:
            history = True  # a partner without it leaves the choice to the products
    rendered = render_shipment(
        home,
        args.shipment,
        _formats(chosen or "all"),
        receiver_gln=receiver,
        outbox=_outbox(args),
        transaction_history=history,
    )
    for document in rendered.documents:
        print(
            f"{document.path}: {document.format}, {document.events} events, "
            f"{document.epcs} EPCs, valid"
        )
    if rendered.transaction_history:
        print(
            f"transaction history: {rendered.history_events} prior transaction event(s)"
            + ("" if rendered.history_events else " (none: we are the first owner)")
            + (
                f"; required by {'; '.join(rendered.history_required_by)}"
                if rendered.history_required_by
                else ""
            )
        )
    return 0


def _cmd_receipt(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from epcis.shipping import render_receipt
    from serialtrace.settings import resolve_home

    home = resolve_home(getattr(args, "home", None))
    if args.received_at is None:
        received = datetime.now(UTC)
    else:
        try:
            received = datetime.fromisoformat(args.received_at)
        except ValueError as exc:
            raise SerialtraceError(f"--received-at: {exc}") from None
        if received.tzinfo is None:
            raise SerialtraceError("--received-at needs a UTC offset, e.g. 2026-03-01T10:00Z")
    documents = render_receipt(
        home,
        args.shipment,
        _formats(args.format),
        received_at=received,
        returned=args.returned,
        rma=args.rma,
        disposition=args.disposition,
        outbox=_outbox(args),
    )
    for document in documents:
        print(f"{document.path}: {document.format}, {document.events} event(s), valid")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from epcis.inbound import InboundRefusedError, ingest_file
    from serialtrace.settings import resolve_home

    home = resolve_home(getattr(args, "home", None))
    refused = 0
    for name in args.files:
        try:
            result = ingest_file(home, Path(name), partner_id=args.partner, policy=args.policy)
        except InboundRefusedError as exc:
            refused += 1
            print(f"{name}: REFUSED: {exc}")
            continue
        print(
            f"{name}: loaded {result.events} events, {result.epcs} EPCs ({result.format}), "
            f"{len(result.deviations)} deviation(s) recorded -> {result.folder}"
        )
    return 1 if refused else 0


def _shipment_arguments(
    parser: argparse.ArgumentParser, format_default: str | None, format_help: str
) -> None:
    """``--shipment``, ``--format`` and ``--outbox`` of the commands that write a recorded
    shipment's documents (``render``, ``receipt``)."""
    from epcis.writers import FORMATS

    parser.add_argument("--shipment", required=True, metavar="S")
    parser.add_argument(
        "--format", default=format_default, choices=(*FORMATS, "all"), help=format_help
    )
    parser.add_argument("--outbox", metavar="DIR", help="default: <home>/epcis/outbox")


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

    ingest = commands.add_parser(
        "ingest", help="load partner EPCIS files into the raw zone (strict or tolerant)"
    )
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.add_argument("--policy", choices=("strict", "tolerant"), default="strict")
    ingest.add_argument("--partner", help="partner id recorded with the file")
    ingest.set_defaults(func=_cmd_ingest)

    render = commands.add_parser(
        "render", help="write a recorded shipment's EPCIS file (validated) into the outbox"
    )
    _shipment_arguments(
        render, None, "default: the partner's format with --partner, else all three"
    )
    render.add_argument("--to", metavar="GLN", help="receiver GLN (default: the buyer)")
    render.add_argument(
        "--partner", help="partner id (partners.toml): its GLN and EPCIS format are used"
    )
    render.add_argument(
        "--transaction-history",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="carry the DSCSA Transaction History (prior owners' shipping events); "
        "default: on for the partner's transaction_history (--partner) or a product that "
        "requires it (partners.toml [products]), else off; --no-transaction-history is "
        "refused for a product that requires it",
    )
    render.set_defaults(func=_cmd_render)

    receipt = commands.add_parser(
        "receipt",
        help="write the receiving document of a shipment (its receipt, or its return)",
    )
    _shipment_arguments(receipt, "all", "default: all three")
    receipt.add_argument(
        "--return",
        dest="returned",
        action="store_true",
        help="the goods came back to us (source and destination mirrored)",
    )
    receipt.add_argument("--rma", metavar="NUMBER", help="return authorisation (with --return)")
    receipt.add_argument("--received-at", metavar="ISO", help="default: now (UTC)")
    receipt.add_argument(
        "--disposition", default="in_progress", help="CBV disposition (default in_progress)"
    )
    receipt.set_defaults(func=_cmd_receipt)

    ship = sub.add_parser(
        "ship", help="record a shipment of a work order's pallets to a trading partner"
    )
    ship.add_argument("--work-order", required=True, metavar="WO")
    ship.add_argument("--to", required=True, metavar="GLN", help="buyer (owning party) GLN")
    ship.add_argument("--to-location", metavar="GLN", help="ship-to GLN (default: --to)")
    ship.add_argument("--po", metavar="NUMBER", help="buyer's purchase order number")
    ship.add_argument("--desadv", metavar="NUMBER", help="despatch advice (default: shipment id)")
    ship.set_defaults(func=_cmd_ship)


__all__ = ["SerialtraceError", "add_epcis_commands"]
