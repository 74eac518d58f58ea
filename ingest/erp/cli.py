"""`serialtrace erp load|watch|status|writeback|report`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ingest.erp.config import Connection, load_connections
from ingest.erp.gating import BatchNotReleasedError, lot_status, require_released
from ingest.erp.loader import LoadResult, collect, load_file, load_pending
from ingest.erp.outbound import reconciliation, write_back, write_report
from serialtrace.errors import ConfigurationError, SerialtraceError
from serialtrace.settings import Home, resolve_home


def _home(args: argparse.Namespace) -> Home:
    return resolve_home(getattr(args, "home", None)).ensure()


def _connections(home: Home, args: argparse.Namespace) -> list[Connection]:
    conns = load_connections(home, Path(args.config) if args.config else None)
    if args.connection:
        if args.connection not in conns:
            raise ConfigurationError(
                f"--connection: no connection {args.connection!r} (known: {', '.join(conns)})"
            )
        return [conns[args.connection]]
    return list(conns.values())


def _pass(home: Home, conns: list[Connection]) -> list[LoadResult]:
    results: list[LoadResult] = []
    for conn in conns:
        try:
            collect(conn)
        except SerialtraceError as exc:  # an API or SFTP server down: the folders still load
            print(f"serialtrace: error: {exc}", file=sys.stderr)
        results.extend(load_pending(home, conn))
    return results


def _print(results: list[LoadResult], as_json: bool) -> None:
    for r in results:
        if as_json:
            print(
                json.dumps(
                    {
                        "connection": r.connection,
                        "file": r.file,
                        "load_id": r.load_id,
                        "outcome": r.outcome,
                        "rows": r.rows,
                        "errors": [str(e) for e in r.errors],
                    }
                )
            )
        else:
            print(r.line())


def handle_load(args: argparse.Namespace) -> int:
    home = _home(args)
    conns = _connections(home, args)
    if args.files:
        if len(conns) != 1:
            raise ConfigurationError("--connection: name the connection the files come from")
        results = [load_file(home, conns[0], Path(f)) for f in args.files]
    else:
        results = _pass(home, conns)
    _print(results, args.json)
    if not results and not args.json:
        print("no file waiting", file=sys.stderr)
    return 1 if any(r.outcome == "quarantined" for r in results) else 0


def handle_watch(args: argparse.Namespace) -> int:
    home = _home(args)
    conns = _connections(home, args)
    print(
        f"watching {', '.join(c.name for c in conns)} every {args.interval}s (Ctrl-C stops)",
        file=sys.stderr,
    )
    passes = 0
    while True:
        try:
            _print(_pass(home, conns), args.json)
        except SerialtraceError as exc:  # an API down must not stop the folder watch
            print(f"serialtrace: error: {exc}", file=sys.stderr)
        passes += 1
        if args.passes and passes >= args.passes:
            return 0
        time.sleep(args.interval)


def handle_status(args: argparse.Namespace) -> int:
    home = _home(args)
    status = lot_status(home.raw_masterdata, args.gtin, args.lot)
    if status is None:
        print(f"batch {args.lot} (GTIN {args.gtin}): unknown to the master data")
        return 1
    print(
        f"batch {args.lot} (GTIN {args.gtin}): {status.release_status} "
        f"(source {status.source}, loaded {status.loaded_at:%Y-%m-%d %H:%M:%S} UTC)"
    )
    try:
        require_released(home.raw_masterdata, args.gtin, args.lot, "packaging")
    except BatchNotReleasedError:
        return 1
    return 0


def handle_writeback(args: argparse.Namespace) -> int:
    home = _home(args)
    conns = _connections(home, args)
    if len(conns) != 1:
        raise ConfigurationError("--connection: name the connection to write back to")
    for path in write_back(home.warehouse, conns[0], args.batch):
        print(path)
    return 0


def handle_report(args: argparse.Namespace) -> int:
    home = _home(args)
    out = Path(args.out) if args.out else home.root / "reports"
    for path in write_report(home.warehouse, args.batch, out):
        print(path)
    return 0


def handle_release_check(args: argparse.Namespace) -> int:
    home = _home(args)
    recon = reconciliation(home.warehouse, args.batch)
    releasable, note = recon.release_verdict()
    verdict = "may be released" if releasable else "may NOT be released"
    print(f"{recon.work_order_id}: {verdict} (serialization): {note}")
    return 0 if releasable else 1


def add_erp_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    erp = sub.add_parser("erp", help="ERP/MES connectors: load, watch, gate, write back, report")
    commands = erp.add_subparsers(dest="erp_command", required=True)

    def with_connection(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--connection", default=None, help="connection name (default: all)")
        p.add_argument("--config", default=None, help="connections file (default <home>/erp.toml)")
        return p

    load = with_connection(commands.add_parser("load", help="load waiting files (or FILES)"))
    load.add_argument("files", nargs="*", help="files to load (default: the drop folders/APIs)")
    load.add_argument("--json", action="store_true")
    load.set_defaults(func=handle_load)

    watch = with_connection(commands.add_parser("watch", help="poll drop folders and APIs"))
    watch.add_argument("--interval", type=float, default=10.0, help="seconds between passes")
    watch.add_argument("--passes", type=int, default=0, help="stop after N passes (0: never)")
    watch.add_argument("--json", action="store_true")
    watch.set_defaults(func=handle_watch)

    status = commands.add_parser("status", help="the ERP release status of a batch")
    status.add_argument("--gtin", required=True)
    status.add_argument("--lot", required=True)
    status.set_defaults(func=handle_status)

    back = with_connection(
        commands.add_parser("writeback", help="commissioned serials + reconciliation to the ERP")
    )
    back.add_argument("--batch", required=True, help="work order (or lot) id")
    back.set_defaults(func=handle_writeback)

    check = commands.add_parser(
        "release-check", help="may the batch be released? (serial counts reconcile)"
    )
    check.add_argument("--batch", required=True, help="work order (or lot) id")
    check.set_defaults(func=handle_release_check)

    report = commands.add_parser("report", help="reconciliation report of a batch (CSV + PDF)")
    report.add_argument("--batch", required=True, help="work order (or lot) id")
    report.add_argument("--out", default=None, help="folder (default <home>/reports)")
    report.set_defaults(func=handle_report)
