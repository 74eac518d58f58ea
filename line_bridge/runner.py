"""Start the device simulators (one process each, loopback) and run batches against them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from line_bridge.bridge import Batch, BatchResult, LineBridge, ProgressCallback, check_artwork
from line_bridge.journal import LineJournal
from line_bridge.linefile import LineFile
from line_bridge.simulator import FaultRates
from serialtrace.errors import SerialtraceError

HOST = "127.0.0.1"


@dataclass(frozen=True)
class SimulatorOptions:
    faults: FaultRates = field(default_factory=FaultRates)
    seed: int | None = None
    printer_dialect: str = "jsonl"
    symbols: bool = False  # render and decode real DataMatrix symbols
    rate_per_min: float = 0.0  # 0 = as fast as the bridge allows
    unconfirmed_reject_rate: float = 0.0
    printer_disconnect_after: int = 0
    camera_disconnect_after: int = 0
    camera_protocol: str = "jsonl"  # jsonl | opcua
    gate_protocol: str = "jsonl"  # jsonl | opcua
    stations: bool = False  # also case packer, palletizer and their label printers
    case_size: int = 20  # the stations' container sizes
    pallet_size: int = 40
    travel_ms: float = 1200.0  # stations: camera → reject position (> decision budget)
    case_camera: bool = False  # stations: a case camera after the case labeler
    case_labeler_protocol: str = "jsonl"  # jsonl | opcua
    pallet_labeler_protocol: str = "jsonl"
    case_travel_ms: float = 300.0  # case camera → its reject arm


@contextmanager
def _process(args: list[str], tmp: Path, name: str) -> Iterator[dict[str, int]]:
    ready = tmp / f"{name}.json"
    command = [sys.executable, "-m", "line_bridge.simulator", *args, "--ready-file", str(ready)]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            if process.poll() is not None:
                raise SerialtraceError(f"{name} simulator exited early (code {process.returncode})")
            if time.monotonic() > deadline:
                raise SerialtraceError(f"{name} simulator did not start within 30 s")
            time.sleep(0.02)
        yield {k: int(v) for k, v in json.loads(ready.read_text()).items()}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def simulators(options: SimulatorOptions = SimulatorOptions()) -> Iterator[dict[str, int]]:
    """Start camera, printer and reject-gate simulators (and, with ``options.stations``,
    the aggregation stations and label printers); yield their device ports."""
    faults = options.faults.as_arg()
    seed = [] if options.seed is None else ["--seed", str(options.seed)]
    with tempfile.TemporaryDirectory(prefix="serialtrace-sim-") as folder, ExitStack() as stack:
        tmp = Path(folder)
        ports: dict[str, int] = {}
        gate_args: list[str] = []
        camera_args: list[str] = []
        if options.stations:  # downstream first: each device connects to the next one
            stations = _start_stations(stack, tmp, options, faults, seed, ports)
            gate_args = ["--downstream", f"{HOST}:{stations}", "--travel-ms"]
            gate_args.append(str(options.travel_ms))
        gate = stack.enter_context(
            _process(
                [
                    "gate",
                    "--protocol",
                    options.gate_protocol,
                    "--faults",
                    faults,
                    *seed,
                    "--unconfirmed-reject-rate",
                    str(options.unconfirmed_reject_rate),
                    *gate_args,
                ],
                tmp,
                "gate",
            )
        )
        if options.stations:
            camera_args = ["--downstream", f"{HOST}:{gate['conveyor']}"]
        camera = stack.enter_context(
            _process(
                [
                    "camera",
                    "--protocol",
                    options.camera_protocol,
                    "--faults",
                    faults,
                    *seed,
                    "--disconnect-after",
                    str(options.camera_disconnect_after),
                    *camera_args,
                ],
                tmp,
                "camera",
            )
        )
        printer = stack.enter_context(
            _process(
                [
                    "printer",
                    "--conveyor",
                    f"{HOST}:{camera['conveyor']}",
                    "--faults",
                    faults,
                    "--dialect",
                    options.printer_dialect,
                    "--rate",
                    str(options.rate_per_min),
                    "--disconnect-after",
                    str(options.printer_disconnect_after),
                    *seed,
                    *(["--symbols"] if options.symbols else []),
                ],
                tmp,
                "printer",
            )
        )
        ports.update(printer=printer["printer"], camera=camera["camera"], gate=gate["gate"])
        yield ports


def _start_stations(
    stack: ExitStack,
    tmp: Path,
    options: SimulatorOptions,
    faults: str,
    seed: list[str],
    ports: dict[str, int],
) -> int:
    """Start pallet labeler, palletizer, case labeler, case packer (each feeds on the
    previous one's conveyor); fill ``ports``; return the case packer's conveyor port."""

    def start(kind: str, name: str, *args: str) -> dict[str, int]:
        return stack.enter_context(_process([kind, *args, *seed], tmp, name))

    ports["pallet_labeler"] = start(
        "labeler",
        "pallet_labeler",
        "--faults",
        faults,
        "--protocol",
        options.pallet_labeler_protocol,
    )["labeler"]
    palletizer = start(
        "palletizer", "palletizer", "--size", str(options.pallet_size), "--faults", faults
    )
    ports["palletizer"] = palletizer["palletizer"]
    labelled_to = palletizer["conveyor"]
    if options.case_camera:  # labeler → case camera → palletizer
        case_camera = start(
            "case_camera",
            "case_camera",
            "--downstream",
            f"{HOST}:{palletizer['conveyor']}",
            "--travel-ms",
            str(options.case_travel_ms),
            "--faults",
            faults,
        )
        ports["case_camera"] = case_camera["case_camera"]
        labelled_to = case_camera["conveyor"]
    ports["case_labeler"] = start(
        "labeler",
        "case_labeler",
        "--downstream",
        f"{HOST}:{labelled_to}",
        "--protocol",
        options.case_labeler_protocol,
        "--faults",
        faults,
    )["labeler"]
    packer = start(
        "case_packer", "case_packer", "--size", str(options.case_size), "--faults", faults
    )
    ports["case_packer"] = packer["case_packer"]
    return packer["conveyor"]


def run_batch(
    line: LineFile,
    batch: Batch,
    raw_line: Path,
    new_sscc: Callable[[str], str],
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Run the bridge for ``batch`` against the devices of ``line`` (journal in raw_line)."""
    check_artwork(line.line, batch)  # before anything is journaled
    printer, camera, gate = line.devices()
    journal = LineJournal(raw_line, batch.work_order_id, line.line.line_id)
    journal.recover()
    bridge = LineBridge(
        line.line, printer, camera, gate, journal, new_sscc, progress, line.station_devices()
    )
    return asyncio.run(bridge.run(batch))


def run_simulated_batch(
    line: LineFile,
    batch: Batch,
    raw_line: Path,
    new_sscc: Callable[[str], str],
    options: SimulatorOptions = SimulatorOptions(),
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Start the simulators, run the real bridge against them for ``batch``, stop them."""
    if line.printer.driver != options.printer_dialect:
        options = replace(options, printer_dialect=line.printer.driver)
    options = replace(
        options,
        camera_protocol=line.camera.driver,
        gate_protocol=line.gate.driver,
        stations=line.stations is not None,
        case_camera=line.stations is not None and "case_camera" in line.stations,
        case_labeler_protocol=line.stations["case_labeler"].driver if line.stations else "jsonl",
        pallet_labeler_protocol=(
            line.stations["pallet_labeler"].driver if line.stations else "jsonl"
        ),
        case_size=line.line.case_size,
        pallet_size=line.line.pallet_size,
        travel_ms=max(options.travel_ms, 2.0 * line.line.decision_budget_ms + 250),
    )
    with simulators(options) as ports:
        return run_batch(line.with_ports(ports), batch, raw_line, new_sscc, progress)
