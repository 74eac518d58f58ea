"""``serialtrace serials ...``: market profiles, serial pools, allocation, import, audit.

Handlers raise :class:`serialtrace.errors.SerialtraceError` on bad input; the main CLI prints
it as one line and exits 2. ``serials check`` exits 1 when the randomness check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ingest.erp.gating import require_released, work_order_batch
from serialtrace.errors import ConfigurationError, SerialtraceError, ValidationError
from serialtrace.markets.loader import get_market, load_markets
from serialtrace.markets.profile import MODES, MarketProfile, alphabet_name
from serialtrace.serials.ledger import ImportReport, PoolUsage, SerialLedger
from serialtrace.serials.pools import pool_from_market
from serialtrace.serials.randomness import check_randomness
from serialtrace.settings import DEFAULT_CLIENT, Home, resolve_home

__all__ = ["add_serials_commands"]


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _share(text: str) -> float:
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a share like 0.2 or 20%, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to below 1 (0%..99%), got {text!r}")
    return value


def _home(args: argparse.Namespace) -> Home:
    home = resolve_home(getattr(args, "home", None))
    try:
        home.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(f"home folder {home.root} is not usable: {exc.strerror}") from exc
    return home


def _markets(args: argparse.Namespace, home: Home) -> dict[str, MarketProfile]:
    return load_markets(home.root, [Path(p) for p in getattr(args, "market_file", None) or ()])


def _usage_dict(u: PoolUsage) -> dict[str, Any]:
    p = u.pool
    return {
        "pool_id": p.pool_id,
        "client": p.client,
        "gtin": p.gtin,
        "market": p.market,
        "mode": p.mode,
        "length": p.length,
        "alphabet": alphabet_name(p.alphabet),
        "prefix": p.prefix,
        "range": list(p.bounds) if p.mode != "imported" else None,
        "issued": u.issued,
        "imported": u.imported,
        "capacity": u.capacity,
        "remaining": u.remaining,
        "space": u.space,
        "guess_probability": u.guess_probability,
        "max_guess_probability": p.max_guess_probability,
        "warn_below": p.warn_below,
        "low": u.low,
        "allocations": u.allocations,
        "rate_per_day": None if u.rate_per_day is None else round(u.rate_per_day, 1),
        "runs_out_on": None if u.runs_out_on is None else u.runs_out_on.isoformat(),
    }


def _warn_if_low(ledger: SerialLedger, pool_id: str, out: TextIO) -> None:
    usage = ledger.usage(pool_id)[0]
    if usage.low:
        forecast = (
            f"; at the recent rate it runs out on {usage.runs_out_on}" if usage.runs_out_on else ""
        )
        print(
            f"serialtrace: warning: pool {pool_id} has {usage.remaining:,} of "
            f"{usage.capacity:,} serials left (warning below {usage.pool.warn_below:.0%})"
            f"{forecast}",
            file=out,
        )


def handle_markets(args: argparse.Namespace) -> int:
    markets = _markets(args, _home(args))
    rows: list[dict[str, Any]] = [
        {
            "market": m.market_id,
            "name": m.name,
            "source": m.source,
            "ais": list(m.ais),
            "modes": list(m.serials.modes),
            "lengths": [m.serials.min_length, m.serials.max_length],
            "alphabets": [alphabet_name(a) for a in m.serials.alphabets],
            "max_guess_probability": m.serials.max_guess_probability,
            "nhrn": {
                s: {"ai": r.ai, "name": r.name, "required": r.required} for s, r in m.nhrn.items()
            },
            "hri": list(m.hri_lines),
            "reports": [{"name": r.name, "to": r.to, "format": r.format} for r in m.reports],
            "unverified": list(m.unverified),
        }
        for m in markets.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['market']:<12} {row['name']}  [{row['source']}]")
        print(
            f"  AIs {' '.join(row['ais'])}; serials {row['lengths'][0]}-{row['lengths'][1]} chars, "
            f"{'/'.join(row['alphabets'])}, {'/'.join(row['modes'])}"
        )
        if row["nhrn"]:
            needed = [
                f"{s} ({v['ai']} {v['name']})" for s, v in row["nhrn"].items() if v["required"]
            ]
            print(f"  national numbers: {', '.join(needed)}")
    return 0


def handle_pool_create(args: argparse.Namespace) -> int:
    home = _home(args)
    if home.client_id != DEFAULT_CLIENT and args.client != home.client_id:
        # CMO mode: a client's pools live in that client's data space only
        raise ValidationError(
            "--client",
            f"pool client {args.client!r} is not this data space's client "
            f"{home.client_id!r}: create it in its own data space "
            f"(serialtrace --client {args.client} serials pool create ...)",
        )
    market = get_market(_markets(args, home), args.market)
    pool = pool_from_market(
        market,
        client=args.client,
        gtin=args.gtin,
        pool_id=args.id,
        mode=args.mode,
        length=args.length,
        alphabet=args.alphabet,
        prefix=args.prefix or "",
        first=args.first,
        last=args.last,
        warn_below=args.warn_below,
    )
    with SerialLedger(home.serial_ledger) as ledger:
        existing = {p.pool_id for p in ledger.pools()}
        if pool.pool_id in existing:
            raise ValidationError("pool", f"{pool.pool_id} already exists")
        ledger.ensure_pool(pool)
        usage = ledger.usage(pool.pool_id)[0]
    row = _usage_dict(usage)
    if args.json:
        print(json.dumps(row, indent=2))
    else:
        print(
            f"created pool {pool.pool_id}: {pool.mode}, {pool.length} x "
            f"{alphabet_name(pool.alphabet)}, space {usage.space:,}, capacity {usage.capacity:,}"
        )
    return 0


def handle_pools(args: argparse.Namespace) -> int:
    home = _home(args)
    with SerialLedger(home.serial_ledger) as ledger:
        usages = ledger.usage(args.pool)
    rows = [_usage_dict(u) for u in usages]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no pools: create one with `serialtrace serials pool create`")
        return 0
    header = (
        f"{'pool':<36} {'mode':<10} {'issued':>12} {'remaining':>14} {'used':>6} "
        f"{'guess p':>9}  runs out"
    )
    print(header)
    for r in rows:
        used = r["issued"] / r["capacity"] if r["capacity"] else 1.0
        flag = "  LOW" if r["low"] else ""
        print(
            f"{r['pool_id']:<36} {r['mode']:<10} {r['issued']:>12,} {r['remaining']:>14,} "
            f"{used:>6.1%} {r['guess_probability']:>9.2g}  {r['runs_out_on'] or '-'}{flag}"
        )
    return 0


def handle_allocate(args: argparse.Namespace) -> int:
    home = _home(args)
    batch = work_order_batch(home.raw_masterdata, args.order) if args.order else None
    if batch:  # a work order of the master data: only for a batch the ERP released
        require_released(home.raw_masterdata, *batch, f"serial allocation to {args.order}")
    with SerialLedger(home.serial_ledger) as ledger:
        block = ledger.allocate_block(args.pool, args.count, args.order)
        _warn_if_low(ledger, args.pool, sys.stderr)
    if args.json:
        document = {
            "pool_id": block.pool_id,
            "work_order_id": block.work_order_id,
            "allocation": block.alloc_no,
            "issued_at": block.issued_at,
            "count": len(block.serials),
            "issued_total": block.issued_total,
            "capacity": block.capacity,
            "remaining": block.remaining,
            "low": block.low,
            "serials": list(block.serials),
        }
        _write(args.output, json.dumps(document))
    else:
        _write(args.output, "\n".join(block.serials))
        print(
            f"allocated {len(block.serials):,} serials from {block.pool_id} to "
            f"{block.work_order_id}; {block.remaining:,} left",
            file=sys.stderr,
        )
    return 0


def _write(output: str | None, text: str) -> None:
    if output is None or output == "-":
        print(text)
        return
    try:
        Path(output).write_text(text + "\n")
    except OSError as exc:
        raise ConfigurationError(f"cannot write {output}: {exc.strerror}") from exc


def _lines(path: str) -> Iterator[str]:
    if path == "-":
        yield from sys.stdin
        return
    try:
        with Path(path).open(encoding="utf-8", newline="") as handle:
            yield from handle
    except UnicodeDecodeError as exc:
        raise ValidationError("file", f"{path} is not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from exc


def _report_dict(report: ImportReport) -> dict[str, Any]:
    return {
        "pool_id": report.pool_id,
        "source": report.source,
        "lines": report.lines,
        "accepted": report.accepted,
        "imported": report.accepted if report.committed else 0,
        "committed": report.committed,
        "rejected": [
            {"line": r.line, "value": r.value, "reason": r.reason} for r in report.rejected
        ],
    }


def handle_import(args: argparse.Namespace) -> int:
    home = _home(args)
    with SerialLedger(home.serial_ledger) as ledger:
        report = ledger.import_serials(
            args.pool, _lines(args.file), args.file, accept_valid=args.accept_valid
        )
    if args.json:
        print(json.dumps(_report_dict(report), indent=2))
    else:
        for r in report.rejected:
            print(f"line {r.line}: {r.value!r}: {r.reason}", file=sys.stderr)
    if report.rejected and not report.committed:
        raise SerialtraceError(
            f"import refused, nothing imported: {len(report.rejected):,} of {report.lines:,} "
            "lines rejected (listed above; --accept-valid imports the valid ones)"
        )
    if not args.json:
        print(
            f"imported {report.accepted if report.committed else 0:,} serials into {report.pool_id}"
            f"; {len(report.rejected):,} lines rejected"
        )
    return 0


def handle_check(args: argparse.Namespace) -> int:
    home = _home(args)
    with SerialLedger(home.serial_ledger) as ledger:
        pool = ledger.get_pool(args.pool)
        report = check_randomness(pool, ledger.issued_serials(args.pool))
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(f"randomness check of pool {pool.pool_id} ({pool.mode}, {report.issued:,} issued)")
        for line in report.findings:
            print(f"  {line}")
        print("  PASS" if report.passed else "  FAIL")
    return 0 if report.passed else 1


def add_serials_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serials ...`` on the main CLI's subparsers."""
    serials = subparsers.add_parser("serials", help="serial pools: create, allocate, import, audit")
    commands = serials.add_subparsers(dest="serials_command", metavar="COMMAND", required=True)
    market_file = {
        "action": "append",
        "metavar": "PATH",
        "help": "extra market profile file or folder (besides <home>/markets/*.toml)",
    }

    markets = commands.add_parser("markets", help="list market profiles")
    markets.add_argument("--market-file", **market_file)  # type: ignore[arg-type]
    markets.add_argument("--json", action="store_true")
    markets.set_defaults(func=handle_markets)

    pool = commands.add_parser("pool", help="manage one pool")
    pool_commands = pool.add_subparsers(dest="pool_command", metavar="COMMAND", required=True)
    create = pool_commands.add_parser("create", help="create the pool of a client, GTIN and market")
    create.add_argument("--market", required=True, help="market profile id, e.g. EU-FMD")
    create.add_argument("--client", required=True, help="client (brand owner) id")
    create.add_argument("--gtin", required=True, help="GTIN-8/12/13/14")
    create.add_argument("--id", default=None, help="pool id (default CLIENT-MARKET-GTIN)")
    create.add_argument("--mode", choices=MODES, default=None, help="default: the market's")
    create.add_argument("--length", type=int, default=None, help="serial length (market default)")
    create.add_argument(
        "--alphabet", default=None, help="numeric, alphanumeric, ... or the characters"
    )
    create.add_argument("--prefix", default=None, help="fixed start of a randomized pool's serials")
    create.add_argument("--first", default=None, help="first serial of a sequential range")
    create.add_argument("--last", default=None, help="last serial of a sequential range")
    create.add_argument(
        "--warn-below", type=_share, default=None, help="warn when this share is left (0.2 / 20%%)"
    )
    create.add_argument("--market-file", **market_file)  # type: ignore[arg-type]
    create.add_argument("--json", action="store_true")
    create.set_defaults(func=handle_pool_create)

    pools = commands.add_parser("pools", help="usage, remaining capacity, burn-down forecast")
    pools.add_argument("--pool", default=None, help="only this pool")
    pools.add_argument("--json", action="store_true")
    pools.set_defaults(func=handle_pools)

    allocate = commands.add_parser("allocate", help="issue serials to a work order")
    allocate.add_argument("--pool", required=True)
    allocate.add_argument("--count", type=_count, required=True)
    allocate.add_argument("--order", default=None, help="work order id (default ALLOC-<n>)")
    allocate.add_argument("--output", default=None, help="write the serials to this file")
    allocate.add_argument("--json", action="store_true")
    allocate.set_defaults(func=handle_allocate)

    imp = commands.add_parser("import", help="import an external serial list (one per line)")
    imp.add_argument("--pool", required=True)
    imp.add_argument("file", help="text file, one serial per line ('-' = stdin)")
    imp.add_argument(
        "--accept-valid",
        action="store_true",
        help="import the valid lines and report the rejected ones (default: all or nothing)",
    )
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=handle_import)

    check = commands.add_parser("check", help="randomness check of a pool's issued serials")
    check.add_argument("--pool", required=True)
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=handle_check)

    for leaf in (markets, create, pools, allocate, imp, check):
        leaf.add_argument("--home", default=argparse.SUPPRESS, help="home folder")
