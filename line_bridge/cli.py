"""`serialtrace line run|simulate|rework`."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import signal
import sys
import threading
from pathlib import Path

from line_bridge.bridge import BatchResult, ProgressCallback
from line_bridge.linefile import load_line_file
from line_bridge.orders import load_order, sscc_source
from line_bridge.rework import Rework, find_work_order
from line_bridge.runner import SimulatorOptions, run_batch, run_simulated_batch, simulators
from line_bridge.simulator import FaultRates
from serialtrace.errors import ValidationError
from serialtrace.serials.ledger import SerialLedger
from serialtrace.settings import resolve_home


def _faults(text: str) -> FaultRates:
    try:
        return FaultRates.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_line_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    line = sub.add_parser("line", help="run a packaging line or its simulators")
    cmds = line.add_subparsers(dest="line_command", required=True)

    run = cmds.add_parser("run", help="run the line bridge for one work order")
    run.add_argument("--line", required=True, type=Path, help="line file (TOML)")
    run.add_argument("--order", required=True, help="work order id")
    run.add_argument("--simulate", action="store_true", help="start device simulators too")
    run.add_argument(
        "--faults",
        type=_faults,
        default=FaultRates.spread(0.01),
        help="simulated faults, e.g. misprint=0.003,camera_timeout=0.001",
    )
    run.add_argument("--seed", type=int, default=None)
    run.add_argument("--symbols", action="store_true", help="simulate real DataMatrix symbols")
    run.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="simulated line speed, units/min (0 = as fast as the bridge allows)",
    )
    run.add_argument(
        "--nhrn", help="national number printed (and encoded) where line.member_state needs one"
    )
    run.add_argument("--json", action="store_true", help="print the batch figures as JSON")
    run.set_defaults(func=_run)

    sim = cmds.add_parser("simulate", help="start printer, camera and gate simulators")
    sim.add_argument("--faults", type=_faults, default=FaultRates.spread(0.01))
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--dialect", choices=["jsonl", "textcmd"], default="jsonl")
    sim.add_argument("--symbols", action="store_true")
    sim.add_argument("--rate", type=float, default=0.0, help="units/min (0 = as fast as possible)")
    sim.add_argument(
        "--stations", action="store_true", help="also case packer, palletizer, label printers"
    )
    sim.add_argument(
        "--case-camera", action="store_true", help="with --stations: a case camera too"
    )
    sim.add_argument(
        "--labeler-protocol",
        choices=["jsonl", "opcua"],
        default="jsonl",
        help="with --stations: the label printers' protocol",
    )
    sim.add_argument("--case-size", type=int, default=20)
    sim.add_argument("--pallet-size", type=int, default=40)
    sim.set_defaults(func=_simulate)

    rework = cmds.add_parser("rework", help="unpack, replace or pack items and cases")
    moves = rework.add_subparsers(dest="rework_command", required=True)
    unpack = moves.add_parser("unpack", help="empty a case (items loose) or a pallet")
    unpack.add_argument("--sscc", required=True, help="SSCC of the case or pallet")
    replace = moves.add_parser("replace", help="replace one item of a case by another")
    replace.add_argument("--case", required=True, help="SSCC of the case")
    replace.add_argument("--remove", required=True, help="serial taken out")
    replace.add_argument("--add", required=True, help="serial put in (passed, loose)")
    pack = moves.add_parser("pack", help="pack loose items into a case, cases onto a pallet")
    into = pack.add_mutually_exclusive_group(required=True)
    into.add_argument("--case", help="SSCC of the case, or 'new' (needs --order)")
    into.add_argument("--pallet", help="SSCC of the pallet, or 'new' (needs --order)")
    pack.add_argument("--add", required=True, nargs="+", help="serials (case) or SSCCs (pallet)")
    for move in (unpack, replace, pack):
        move.add_argument("--order", help="work order (default: found from the SSCC)")
        move.add_argument("--json", action="store_true", help="print the rows written as JSON")
        move.set_defaults(func=_rework)


def _progress(total: int) -> ProgressCallback:
    def show(result: BatchResult) -> None:
        print(
            f"{result.printed:>9,} / {total:,} printed  {result.passed:,} passed  "
            f"{result.rejected:,} rejected  {result.units_per_minute:,.0f} units/min",
            file=sys.stderr,
            flush=True,
        )

    return show


def _run(args: argparse.Namespace) -> int:
    home = resolve_home(getattr(args, "home", None)).ensure()
    line = load_line_file(args.line)
    order = load_order(home.raw, args.order)
    if (order.case_size, order.pallet_size) != (line.line.case_size, line.line.pallet_size):
        raise ValidationError(
            "line file",
            f"case/pallet size {line.line.case_size}/{line.line.pallet_size} differs "
            f"from work order {args.order}: {order.case_size}/{order.pallet_size}",
        )
    with SerialLedger(home.serial_ledger) as ledger:
        new_sscc = sscc_source(
            ledger,
            order.company_prefix,
            len(order.batch.serials),
            order.case_size,
            order.pallet_size,
        )
    batch = dataclasses.replace(order.batch, nhrn=args.nhrn)
    progress = None if args.json else _progress(len(batch.serials))
    if args.simulate:
        options = SimulatorOptions(
            faults=args.faults, seed=args.seed, symbols=args.symbols, rate_per_min=args.rate
        )
        result = run_simulated_batch(line, batch, home.raw_line, new_sscc, options, progress)
    else:
        result = run_batch(line, batch, home.raw_line, new_sscc, progress)
    if args.json:
        print(json.dumps(result.summary()))
        return 0
    causes = ", ".join(f"{k} {v:,}" for k, v in sorted(result.reject_causes.items())) or "none"
    print(
        f"{args.order}: printed {result.printed:,}, passed {result.passed:,}, rejected "
        f"{result.rejected:,} ({causes}), cases {result.cases:,}, pallets {result.pallets:,}, "
        f"{result.units_per_minute:,.0f} units/min"
    )
    grades = ", ".join(f"{k} {v:,}" for k, v in sorted(result.grades.items())) or "none"
    rate = result.camera_pass_rate
    print(f"  camera pass rate {rate:.2%}, grades {grades}" if rate is not None else "")
    if result.cases_refused or result.pallets_refused or result.unpacked:
        print(
            f"  refused {result.cases_refused} cases, {result.pallets_refused} pallets; "
            f"{result.unpacked} passed units in no case (rework)"
        )
    return 0


def _rework(args: argparse.Namespace) -> int:
    home = resolve_home(getattr(args, "home", None)).ensure()
    sscc = getattr(args, "sscc", None) or args.case or getattr(args, "pallet", None)
    if args.order is None and sscc in (None, "new"):
        raise ValidationError("--order", "needed to pack into a new case or pallet")
    order = args.order or find_work_order(home.raw_line, str(sscc))
    rework = Rework(home.raw, order)
    try:
        p = rework.packing
        if args.rework_command == "unpack":
            rows = rework.unpack(args.sscc)
        elif args.rework_command == "replace":
            rows = rework.replace(args.case, args.remove, args.add)
        else:
            level = "case" if args.case else "pallet"

            def new_sscc(kind: str) -> str:
                with SerialLedger(home.serial_ledger) as ledger:
                    source = sscc_source(ledger, rework.company_prefix, 0, 1, 1)
                return source(kind)

            rows = rework.pack(args.case or args.pallet, level, args.add, new_sscc)
    finally:
        rework.close()
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    for row in rows:
        child = row["child_serial"] or row["child_sscc"]
        print(f"{row['action']:<6} {row['parent_level']} {row['parent_sscc']}  {child}")
    print(f"{order}: {len(rows)} aggregation rows written ({p.line_id})")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    options = SimulatorOptions(
        faults=args.faults,
        seed=args.seed,
        printer_dialect=args.dialect,
        symbols=args.symbols,
        rate_per_min=args.rate,
        stations=args.stations,
        case_camera=args.stations and args.case_camera,
        case_labeler_protocol=args.labeler_protocol,
        pallet_labeler_protocol=args.labeler_protocol,
        case_size=args.case_size,
        pallet_size=args.pallet_size,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with simulators(options) as ports:
        print("Simulators running on 127.0.0.1 (Ctrl-C stops). Line file devices:")
        for kind, port in ports.items():
            driver = args.dialect if kind == "printer" else "jsonl"
            driver = args.labeler_protocol if kind.endswith("_labeler") else driver
            print(f'[devices.{kind}]\ndriver = "{driver}"\nhost = "127.0.0.1"\nport = {port}\n')
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0
