"""``serialtrace partners list|test|go-live|send|pickup|ingest|licences``."""

from __future__ import annotations

import argparse

from partners.config import SftpSettings, get_partner, load_partners
from partners.ledger import Delivery, DeliveryLedger
from serialtrace.errors import SerialtraceError
from serialtrace.settings import resolve_home


def add_partners_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    partners = sub.add_parser("partners", help="trading partners: onboarding and deliveries")
    cmds = partners.add_subparsers(dest="partners_command", required=True)

    cmd = cmds.add_parser("list", help="every partner with its onboarding stage and deliveries")
    cmd.set_defaults(func=_cmd_list)

    cmd = cmds.add_parser("test", help="send a test message and wait for its acknowledgement")
    cmd.add_argument("partner", help="partner id")
    cmd.set_defaults(func=_cmd_test)

    cmd = cmds.add_parser("go-live", help="go live (needs an acknowledged test message)")
    cmd.add_argument("partner", help="partner id")
    cmd.set_defaults(func=_cmd_go_live)

    cmd = cmds.add_parser("send", help="deliver pending outbox documents (or one file)")
    cmd.add_argument("partner", nargs="?", help="partner id (default: every live partner)")
    cmd.add_argument("--file", help="deliver this file to the partner (even before go-live)")
    cmd.set_defaults(func=_cmd_send)

    cmd = cmds.add_parser("pickup", help="fetch inbound files from SFTP partners")
    cmd.add_argument("partner", nargs="?", help="partner id (default: every SFTP partner)")
    cmd.set_defaults(func=_cmd_pickup)

    cmd = cmds.add_parser(
        "fmd-upload", help="EU Hub upload of one batch for one market endpoint (into the outbox)"
    )
    cmd.add_argument("market_partner", help="partner id of the market endpoint (role hub)")
    cmd.add_argument("--work-order", required=True, help="the batch's work order")
    cmd.add_argument("--common-name", required=True, help="INN / common name")
    cmd.add_argument("--pack-type", required=True, help="e.g. blister, bottle")
    cmd.add_argument("--mah-id", required=True, help="marketing authorisation holder id")
    cmd.add_argument("--mah-name", default="", help="default: the product's manufacturer")
    cmd.add_argument("--national-code", default="", help="NHRN if the market needs one")
    cmd.add_argument("--atc", action="append", default=[], help="ATC code (repeatable)")
    cmd.set_defaults(func=_cmd_fmd_upload)

    cmd = cmds.add_parser("export", help="write the ledger snapshot to the raw zone (scorecard)")
    cmd.set_defaults(func=_cmd_export)

    cmd = cmds.add_parser("deliveries", help="the ledger: every file sent and received")
    cmd.add_argument("partner", nargs="?", help="only this partner")
    cmd.set_defaults(func=_cmd_deliveries)

    from partners.licences_cli import add_licences_commands

    add_licences_commands(cmds)


def _line(d: Delivery) -> str:
    arrow = "→" if d.direction == "outbound" else "←"
    tail = d.ack_detail or d.failure_reason or ""
    return (
        f"  {arrow} {d.partner_id:<14} {d.status:<12} {d.attempts:>2}× {d.file_name}  "
        f"{d.message_id}  {tail}"
    ).rstrip()


def _cmd_list(args: argparse.Namespace) -> int:
    from partners.onboarding import status

    home = resolve_home(getattr(args, "home", None))
    with DeliveryLedger(home.partners_ledger) as ledger:
        for partner in load_partners(home):
            s = status(ledger, partner)
            counts = ", ".join(f"{k} {v}" for k, v in sorted(s.counts.items())) or "no files"
            print(
                f"{partner.id:<14} {s.stage:<18} {partner.transport.kind:<5} "
                f"{partner.epcis_format:<10} GLN {partner.gln}  {counts}"
            )
    return 0


def _cmd_test(args: argparse.Namespace) -> int:
    from partners.onboarding import send_test_message
    from partners.transports import transport_for

    home = resolve_home(getattr(args, "home", None)).ensure()
    partner = get_partner(home, args.partner)
    delivery = send_test_message(home, partner, transport_for(home, partner))
    print(_line(delivery).strip())
    if delivery.status == "acknowledged":
        print(f"test acknowledged: `serialtrace partners go-live {partner.id}` is now allowed")
        return 0
    if delivery.status == "sent":
        print("test sent: waiting for the partner's acknowledgement (asynchronous)")
        return 0
    raise SerialtraceError(
        f"partner {partner.id}: test message {delivery.status}: {delivery.failure_reason}"
    )


def _cmd_go_live(args: argparse.Namespace) -> int:
    from partners.onboarding import go_live

    home = resolve_home(getattr(args, "home", None)).ensure()
    s = go_live(home, get_partner(home, args.partner))
    print(
        f"{s.partner.id} is live"
        + (f" since {s.live_since:%Y-%m-%d %H:%M UTC}" if s.live_since else "")
    )
    return 0


def _cmd_send(args: argparse.Namespace) -> int:
    from pathlib import Path

    from partners.delivery import drop_pending, send_file
    from partners.onboarding import status
    from partners.transports import transport_for

    home = resolve_home(getattr(args, "home", None)).ensure()
    if args.file:
        if not args.partner:
            raise SerialtraceError("--file needs a partner id")
        partner = get_partner(home, args.partner)
        print(_line(send_file(home, partner, transport_for(home, partner), Path(args.file))))
        return 0
    chosen = [get_partner(home, args.partner)] if args.partner else load_partners(home)
    failed = 0
    for partner in chosen:
        with DeliveryLedger(home.partners_ledger) as ledger:
            live = status(ledger, partner).live
        if not live:
            print(f"{partner.id}: not live yet, nothing sent (onboarding: partners test / go-live)")
            continue
        for delivery in drop_pending(home, partner, transport_for(home, partner)):
            print(_line(delivery))
            failed += delivery.status in ("failed", "rejected")
    return 1 if failed else 0


def _cmd_pickup(args: argparse.Namespace) -> int:
    from partners.inbound import ingest_received
    from partners.sftp import sftp_transport

    home = resolve_home(getattr(args, "home", None)).ensure()
    chosen = [get_partner(home, args.partner)] if args.partner else load_partners(home)
    with DeliveryLedger(home.partners_ledger) as ledger:
        for partner in chosen:
            if not isinstance(partner.transport, SftpSettings):
                if args.partner:
                    raise SerialtraceError(f"partner {partner.id}: pickup is for SFTP partners")
                continue
            for delivery in sftp_transport(home, partner).pickup(ledger):
                print(_line(delivery))
    for delivery in ingest_received(home):
        print(_line(delivery))
    return 0


def _cmd_deliveries(args: argparse.Namespace) -> int:
    home = resolve_home(getattr(args, "home", None))
    with DeliveryLedger(home.partners_ledger) as ledger:
        for delivery in ledger.deliveries(args.partner):
            print(_line(delivery))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from partners.export import export_deliveries

    home = resolve_home(getattr(args, "home", None)).ensure()
    print(f"ledger snapshot: {export_deliveries(home)}")
    return 0


def _cmd_fmd_upload(args: argparse.Namespace) -> int:
    from partners.fmd import write_fmd_message
    from partners.fmd_source import EuProductData, batch_messages
    from partners.ledger import utcnow

    home = resolve_home(getattr(args, "home", None)).ensure()
    partner = get_partner(home, args.market_partner)
    if partner.role != "hub":
        raise SerialtraceError(f"partner {partner.id}: not a market endpoint (role hub)")
    if not home.warehouse.exists():
        raise SerialtraceError(f"no warehouse at {home.warehouse}: run `serialtrace demo` first")
    eu = EuProductData(
        args.common_name,
        args.pack_type,
        args.mah_id,
        args.mah_name,
        args.national_code,
        tuple(args.atc),
    )
    messages, notes = batch_messages(home.warehouse, args.work_order, partner.market, eu, utcnow())
    for message in messages:
        print(f"{message['messageType']:<18} {write_fmd_message(home, partner, message)}")
    for note in notes:
        print(f"note: {note}")
    print(f"deliver with: serialtrace partners send {partner.id}")
    return 0
