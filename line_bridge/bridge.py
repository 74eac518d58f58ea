"""The line bridge: drives printer, camera and reject gate over TCP for one batch.

Units are tracked in a FIFO from print command to camera result (the shift register of
a real line). Each camera result is decided at once (line_bridge.decision); a failed unit
is rejected at the gate, and a reject that is not confirmed holds the line. Passed units
are aggregated into cases and pallets (line_bridge.aggregation). Every fact is written to
the raw Parquet streams (line_bridge.streams).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from line_bridge.aggregation import Aggregator
from line_bridge.artwork import us_dscsa_lines
from line_bridge.decision import decide
from line_bridge.protocol import ProtocolError, encode, read_message
from line_bridge.streams import LineStreams
from serialtrace.errors import SerialtraceError
from serialtrace.gs1.charset import date_to_yymmdd
from serialtrace.gs1.element_string import encode_unit


class LineHeldError(SerialtraceError):
    """The line went to the held state: a device did not answer as it must."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int


@dataclass(frozen=True)
class LineConfig:
    line_id: str
    printer: Endpoint
    camera: Endpoint
    gate: Endpoint
    grade_threshold: float = 1.5  # ISO/IEC 15415 grade C
    decision_budget_ms: int = 500
    case_size: int = 20
    pallet_size: int = 40
    window: int = 32  # units between print command and final decision
    printer_id: str = "PRN-1"
    camera_id: str = "CAM-1"
    gate_id: str = "REJ-1"


@dataclass(frozen=True)
class Batch:
    work_order_id: str
    gtin: str
    ndc: str | None
    lot: str
    expiry: date
    serials: Sequence[str]


@dataclass
class BatchResult:
    work_order_id: str
    printed: int = 0
    passed: int = 0
    rejected: int = 0
    reject_causes: Counter[str] = field(default_factory=Counter)
    cases: int = 0
    pallets: int = 0
    elapsed_s: float = 0.0
    decision_latencies_us: list[int] = field(default_factory=list)

    @property
    def units_per_minute(self) -> float:
        return self.printed / self.elapsed_s * 60 if self.elapsed_s else 0.0


@dataclass
class _Unit:
    seq: int
    serial: str
    payload: str
    commanded_at: datetime
    commanded_mono: float


ProgressCallback = Callable[[BatchResult], None]


def _now() -> datetime:
    return datetime.now(UTC)


class LineBridge:
    def __init__(
        self,
        config: LineConfig,
        streams: LineStreams,
        new_sscc: Callable[[str], str],
        progress: ProgressCallback | None = None,
    ) -> None:
        self.config = config
        self.streams = streams
        self.aggregator = Aggregator(config.case_size, config.pallet_size, new_sscc)
        self.progress = progress
        self._fifo: deque[_Unit] = deque()
        self._awaiting_ack: dict[int, _Unit] = {}
        self._awaiting_reject: dict[int, tuple[_Unit, str, datetime]] = {}
        self._passed_serials: set[str] = set()
        self._slots = asyncio.Semaphore(config.window)
        self._failure: BaseException | None = None

    async def run(self, batch: Batch) -> BatchResult:
        cfg = self.config
        result = BatchResult(batch.work_order_id)
        started = time.perf_counter()
        printer_r, printer_w = await _connect("printer", cfg.printer)
        camera_r, camera_w = await _connect("camera", cfg.camera)
        gate_r, gate_w = await _connect("reject gate", cfg.gate)
        expiry = date_to_yymmdd(batch.expiry)
        readers = [
            asyncio.create_task(self._read_printer(printer_r, batch, result)),
            asyncio.create_task(self._read_camera(camera_r, gate_w, batch, result)),
            asyncio.create_task(self._read_gate(gate_r, batch, result)),
            asyncio.create_task(self._watch_timeouts(gate_w, batch, result)),
        ]
        reporter = asyncio.create_task(self._report(result, started))
        try:
            for seq, serial in enumerate(batch.serials, start=1):
                await self._acquire_slot()
                element = encode_unit(batch.gtin, serial, batch.lot, expiry)
                unit = _Unit(seq, serial, element.payload, _now(), time.monotonic())
                hri = us_dscsa_lines(batch.ndc, serial, batch.lot, batch.expiry)
                self._awaiting_ack[seq] = unit
                self._fifo.append(unit)
                printer_w.write(
                    encode(
                        {
                            "cmd": "print",
                            "seq": seq,
                            "serial": serial,
                            "payload": element.payload,
                            "hri": hri,
                        }
                    )
                )
                if seq % 8 == 0:
                    await printer_w.drain()
            await printer_w.drain()
            # wait until every unit has its final outcome
            for _ in range(cfg.window):
                await self._acquire_slot()
            if self._awaiting_ack:
                raise LineHeldError(
                    f"printer acknowledged no print for {len(self._awaiting_ack)} units"
                )
            for row in self.aggregator.finish(_now()):
                self.streams.write("aggregate", row)
        finally:
            reporter.cancel()
            for task in readers:
                task.cancel()
            for writer in (printer_w, camera_w, gate_w):
                writer.close()
            self.streams.close()
        result.cases = self.aggregator.cases_closed
        result.pallets = self.aggregator.pallets_closed
        result.elapsed_s = time.perf_counter() - started
        if self.progress:
            self.progress(result)
        return result

    async def _acquire_slot(self) -> None:
        while True:
            if self._failure is not None:
                raise self._failure
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout=0.25)
                return
            except TimeoutError:
                continue

    def _fail(self, error: BaseException) -> None:
        if self._failure is None:
            self._failure = error

    async def _read_printer(
        self, reader: asyncio.StreamReader, batch: Batch, result: BatchResult
    ) -> None:
        try:
            while (message := await read_message(reader)) is not None:
                if message.get("type") != "ack":
                    raise LineHeldError(f"printer refused a command: {message}")
                unit = self._awaiting_ack.pop(int(message["seq"]))
                result.printed += 1
                self.streams.write(
                    "print",
                    {
                        "seq": unit.seq,
                        "printer_id": self.config.printer_id,
                        "gtin": batch.gtin,
                        "serial": unit.serial,
                        "lot": batch.lot,
                        "expiry": date_to_yymmdd(batch.expiry),
                        "payload": unit.payload,
                        "hri": "\n".join(
                            us_dscsa_lines(batch.ndc, unit.serial, batch.lot, batch.expiry)
                        ),
                        "commanded_at": unit.commanded_at,
                        "acknowledged_at": _now(),
                    },
                )
            raise LineHeldError("printer disconnected")
        except (LineHeldError, ProtocolError, KeyError) as exc:
            self._fail(exc if isinstance(exc, SerialtraceError) else LineHeldError(str(exc)))

    async def _read_camera(
        self,
        reader: asyncio.StreamReader,
        gate: asyncio.StreamWriter,
        batch: Batch,
        result: BatchResult,
    ) -> None:
        try:
            while (message := await read_message(reader)) is not None:
                received = time.perf_counter_ns()
                if not self._fifo:
                    raise LineHeldError(f"camera result with no unit under it: {message}")
                unit = self._fifo.popleft()
                if message.get("trigger") != unit.seq:
                    raise LineHeldError(
                        f"tracking lost: camera trigger {message.get('trigger')} "
                        f"arrived for unit {unit.seq}"
                    )
                decoded = message.get("decoded")
                grade_value = message.get("grade_value")
                verdict = decide(
                    unit.payload,
                    decoded,
                    bool(message.get("readable")),
                    grade_value,
                    self.config.grade_threshold,
                    self._passed_serials,
                )
                latency_us = (time.perf_counter_ns() - received) // 1000
                result.decision_latencies_us.append(latency_us)
                now = _now()
                self.streams.write(
                    "inspect",
                    {
                        "seq": unit.seq,
                        "camera_id": self.config.camera_id,
                        "gtin": batch.gtin,
                        "expected_serial": unit.serial,
                        "decoded_payload": decoded,
                        "decoded_serial": verdict.decoded_serial,
                        "grade": message.get("grade"),
                        "grade_value": grade_value,
                        "readable": bool(message.get("readable")),
                        "outcome": "pass" if verdict.passed else "fail",
                        "cause": verdict.cause,
                        "inspected_at": now,
                        "decision_latency_us": latency_us,
                    },
                )
                if verdict.passed:
                    self._pass(unit, batch, result, now)
                else:
                    self._reject(gate, unit, verdict.cause or "wrong_data", now)
            raise LineHeldError("camera disconnected")
        except (LineHeldError, ProtocolError) as exc:
            self._fail(exc)

    def _pass(self, unit: _Unit, batch: Batch, result: BatchResult, now: datetime) -> None:
        result.passed += 1
        self._passed_serials.add(unit.serial)
        for row in self.aggregator.add_item(batch.gtin, unit.serial, now):
            self.streams.write("aggregate", row)
        self._slots.release()

    def _reject(self, gate: asyncio.StreamWriter, unit: _Unit, cause: str, now: datetime) -> None:
        self._awaiting_reject[unit.seq] = (unit, cause, now)
        gate.write(encode({"cmd": "reject", "seq": unit.seq}))

    async def _read_gate(
        self, reader: asyncio.StreamReader, batch: Batch, result: BatchResult
    ) -> None:
        try:
            while (message := await read_message(reader)) is not None:
                seq = int(message.get("seq", -1))
                if seq not in self._awaiting_reject:
                    raise LineHeldError(f"reject gate confirmed an unknown unit: {message}")
                unit, cause, commanded_at = self._awaiting_reject.pop(seq)
                confirmed = message.get("type") == "ack" and bool(message.get("confirmed"))
                self.streams.write(
                    "reject",
                    {
                        "seq": unit.seq,
                        "gate_id": self.config.gate_id,
                        "gtin": batch.gtin,
                        "serial": unit.serial,
                        "cause": cause,
                        "commanded_at": commanded_at,
                        "confirmed": confirmed,
                        "confirmed_at": _now() if confirmed else None,
                    },
                )
                if not confirmed:
                    raise LineHeldError(f"reject of unit {unit.seq} ({unit.serial}) not confirmed")
                result.rejected += 1
                result.reject_causes[cause] += 1
                self._slots.release()
            raise LineHeldError("reject gate disconnected")
        except (LineHeldError, ProtocolError, ValueError) as exc:
            self._fail(exc if isinstance(exc, SerialtraceError) else LineHeldError(str(exc)))

    async def _watch_timeouts(
        self, gate: asyncio.StreamWriter, batch: Batch, result: BatchResult
    ) -> None:
        """No camera result within the budget means reject: fail safe."""
        budget = self.config.decision_budget_ms / 1000
        while True:
            await asyncio.sleep(budget / 4)
            now = time.monotonic()
            while self._fifo and now - self._fifo[0].commanded_mono > budget:
                unit = self._fifo.popleft()
                stamp = _now()
                self.streams.write(
                    "inspect",
                    {
                        "seq": unit.seq,
                        "camera_id": self.config.camera_id,
                        "gtin": batch.gtin,
                        "expected_serial": unit.serial,
                        "decoded_payload": None,
                        "decoded_serial": None,
                        "grade": None,
                        "grade_value": None,
                        "readable": False,
                        "outcome": "fail",
                        "cause": "timeout",
                        "inspected_at": stamp,
                        "decision_latency_us": 0,
                    },
                )
                self._reject(gate, unit, "timeout", stamp)

    async def _report(self, result: BatchResult, started: float) -> None:
        while self.progress is not None:
            await asyncio.sleep(1.0)
            result.elapsed_s = time.perf_counter() - started
            self.progress(result)


async def _connect(name: str, endpoint: Endpoint) -> tuple[asyncio.StreamReader, Any]:
    try:
        return await asyncio.wait_for(
            asyncio.open_connection(endpoint.host, endpoint.port), timeout=5
        )
    except (OSError, TimeoutError) as exc:
        raise LineHeldError(
            f"cannot reach the {name} at {endpoint.host}:{endpoint.port}: {exc}"
        ) from exc
