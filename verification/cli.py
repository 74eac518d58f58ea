"""``serialtrace verify serve|refresh|flush-log|keys|ask|nmvs`` commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from serialtrace.errors import SerialtraceError, ValidationError
from serialtrace.settings import Home, resolve_home

__all__ = ["add_verify_commands"]


def _home(args: argparse.Namespace) -> Home:
    return resolve_home(getattr(args, "home", None)).ensure()


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0-65535, got {text!r}")
    return value


def add_verify_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = sub.add_parser("verify", help="verification responder, requestor and API keys")
    vsub = verify.add_subparsers(dest="verify_command", required=True, metavar="COMMAND")

    serve = vsub.add_parser("serve", help="run the verification responder (HTTP)")
    serve.add_argument("--port", type=_port, default=8700)
    serve.add_argument("--address", default="127.0.0.1", help="default: loopback only")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--tls-cert", type=Path, help="mutual TLS: server certificate (PEM)")
    serve.add_argument("--tls-key", type=Path, help="mutual TLS: server private key (PEM)")
    serve.add_argument("--tls-client-ca", type=Path, help="mutual TLS: CA of client certificates")
    serve.set_defaults(func=_cmd_serve)

    refresh = vsub.add_parser("refresh", help="export the lookup store from the warehouse")
    refresh.set_defaults(func=_cmd_refresh)

    flush = vsub.add_parser("flush-log", help="move sealed query-journal segments to raw Parquet")
    flush.set_defaults(func=_cmd_flush)

    keys = vsub.add_parser("keys", help="partner API keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    add = ksub.add_parser("add", help="create a key for a partner (shown once)")
    add.add_argument("partner")
    add.add_argument("--gln", default=None, help="the partner's GLN")
    add.add_argument(
        "--client",
        default=None,
        help="CMO mode: answer only from this client's data space (default: the data space's "
        "client when the installation has several)",
    )
    add.set_defaults(func=_cmd_keys_add)
    lst = ksub.add_parser("list", help="list keys (never the secrets)")
    lst.set_defaults(func=_cmd_keys_list)
    revoke = ksub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=_cmd_keys_revoke)

    ask = vsub.add_parser("ask", help="ask another manufacturer's responder")
    ask.add_argument("code", nargs="?", help="scanned element string, HRI or Digital Link URI")
    ask.add_argument("--gtin")
    ask.add_argument("--serial")
    ask.add_argument("--lot")
    ask.add_argument("--exp", help="expiry YYMMDD")
    ask.add_argument("--context", default="dscsaSaleableReturn")
    ask.set_defaults(func=_cmd_ask)

    nmvs = vsub.add_parser("nmvs", help="EU: pack state from a market's national system")
    nmvs.add_argument("market", help="market code configured in verification.toml, e.g. DE")
    nmvs.add_argument("code", help="scanned element string, HRI or Digital Link URI")
    nmvs.set_defaults(func=_cmd_nmvs)


def _cmd_serve(args: argparse.Namespace) -> int:
    from verification.service import serve

    home = _home(args)

    def ready(port: int) -> None:
        print(f"verification responder on http://{args.address}:{port}", file=sys.stderr)

    if args.workers < 1:
        raise ValidationError("--workers", "must be at least 1")
    from verification.service import MutualTls

    tls_args = (args.tls_cert, args.tls_key, args.tls_client_ca)
    if any(tls_args) and not all(tls_args):
        raise ValidationError(
            "--tls-cert", "mutual TLS needs --tls-cert, --tls-key and --tls-client-ca"
        )
    tls = MutualTls(*tls_args) if all(tls_args) else None
    serve(home, args.address, args.port, workers=args.workers, tls=tls, ready=ready)
    return 0


def _cmd_refresh(args: argparse.Namespace) -> int:
    from verification.store import export_from_warehouse, store_path

    home = _home(args)
    if not home.warehouse.is_file():
        raise SerialtraceError(f"no warehouse at {home.warehouse}: run `serialtrace materialize`")
    count = export_from_warehouse(home.warehouse, store_path(home.root))
    print(f"lookup store: {count:,} serials -> {store_path(home.root)}")
    return 0


def _cmd_flush(args: argparse.Namespace) -> int:
    from verification.querylog import flush_journal

    print(f"query log: {flush_journal(_home(args).root):,} rows moved to the raw zone")
    return 0


def _cmd_keys_add(args: argparse.Namespace) -> int:
    from verification.keys import key_store

    home = _home(args)
    client = args.client
    if client is None and len(home.installation.data_spaces()) > 1:
        client = home.client_id  # CMO mode: a key is bound to the data space it is made in
    key = key_store(home).add(args.partner, gln=args.gln, company_id=client)
    print(key)
    print("store this key now: it is not shown again", file=sys.stderr)
    return 0


def _cmd_keys_list(args: argparse.Namespace) -> int:
    from serialtrace.acting import current_actor
    from verification.keys import key_store

    actor = current_actor()
    for key in key_store(_home(args)).list():
        if actor is not None and not actor.user.may_see(key.company_id or actor.client):
            continue  # another client's key
        state = f"revoked {key.revoked_at} by {key.revoked_by}" if key.revoked_at else "active"
        print(
            f"{key.key_id}  {key.partner}  gln={key.gln or '-'}  client={key.company_id or '-'}"
            f"  created {key.created_at} by {key.created_by}  {state}"
        )
    return 0


def _cmd_keys_revoke(args: argparse.Namespace) -> int:
    from verification.keys import key_store

    if not key_store(_home(args)).revoke(args.key_id):
        raise SerialtraceError(f"key_id: no active key {args.key_id!r}")
    print(f"revoked {args.key_id}")
    return 0


def _identifier_from_args(args: argparse.Namespace) -> Any:
    from verification.identifiers import parse_text
    from verification.messages import ProductIdentifier

    if args.code:
        return parse_text(args.code)
    if not args.gtin or not args.serial:
        raise ValidationError("code", "give a scanned code / Digital Link, or --gtin and --serial")
    from serialtrace.gs1.keys import normalize_gtin

    return ProductIdentifier(normalize_gtin(args.gtin), args.serial, args.lot, args.exp)


def _cmd_ask(args: argparse.Namespace) -> int:
    from verification.requestor import ask

    result = ask(_home(args), _identifier_from_args(args), context=args.context)
    if result.body is not None and result.response is not None:
        print(json.dumps(result.body, indent=2))
        return 0 if result.response.verified else 1
    raise SerialtraceError(f"responder answered HTTP {result.http_status}: {result.error}")


def _cmd_nmvs(args: argparse.Namespace) -> int:
    from verification.identifiers import parse_text
    from verification.nmvs import lookup_pack

    home = _home(args)
    state = lookup_pack(home, args.market, parse_text(args.code))
    print(json.dumps(state.as_dict(), indent=2))
    return 0 if state.active else 1
