"""Run one batch on a simulated line: simulators in their own process, bridge in this one."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from line_bridge.bridge import (
    Batch,
    BatchResult,
    Endpoint,
    LineBridge,
    LineConfig,
    ProgressCallback,
)
from line_bridge.streams import LineStreams
from serialtrace.errors import SerialtraceError

HOST = "127.0.0.1"


@contextmanager
def simulators(
    fault_rate: float, seed: int | None = None, unconfirmed_reject_rate: float = 0.0
) -> Iterator[dict[str, int]]:
    """Start the device simulators in a child process on loopback; yield their ports."""
    with tempfile.TemporaryDirectory(prefix="serialtrace-sim-") as tmp:
        ready = Path(tmp) / "ports.json"
        command = [
            sys.executable,
            "-m",
            "line_bridge.simulator",
            "--fault-rate",
            str(fault_rate),
            "--ready-file",
            str(ready),
        ]
        if seed is not None:
            command += ["--seed", str(seed)]
        if unconfirmed_reject_rate:
            command += ["--unconfirmed-reject-rate", str(unconfirmed_reject_rate)]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while not ready.exists():
                if process.poll() is not None:
                    raise SerialtraceError(
                        f"line simulator exited early (code {process.returncode})"
                    )
                if time.monotonic() > deadline:
                    raise SerialtraceError("line simulator did not start within 30 s")
                time.sleep(0.05)
            yield {k: int(v) for k, v in json.loads(ready.read_text()).items()}
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_simulated_batch(
    config: LineConfig,
    batch: Batch,
    raw_line: Path,
    new_sscc: Callable[[str], str],
    fault_rate: float,
    seed: int | None = None,
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Start the simulators, run the real bridge against them for ``batch``, stop them."""
    with simulators(fault_rate, seed) as ports:
        wired = replace(
            config,
            printer=Endpoint(HOST, ports["printer"]),
            camera=Endpoint(HOST, ports["camera"]),
            gate=Endpoint(HOST, ports["gate"]),
        )
        streams = LineStreams(raw_line, batch.work_order_id, config.line_id)
        bridge = LineBridge(wired, streams, new_sscc, progress)
        return asyncio.run(bridge.run(batch))
