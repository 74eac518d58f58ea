"""The line bridge: drives printer, camera and reject gate for one batch, through their
adapters (line_bridge/devices/), and journals every fact before acting on it.

Units are tracked by position (``seq``) from print command to camera result. Each result
is decided at once (line_bridge/decision.py); a failed unit is rejected at the gate, and
a reject that is not confirmed in time holds the line. No camera result within the
decision budget is a reject (fail safe). Passed units are packed into cases and pallets
(line_bridge/aggregation.py). Line states follow PackML (idle, starting, execute, held,
completing, complete, aborted), each change journaled with its reason.

Restart after a crash: the journal tells which serials were already sent to the printer
(never sent again), which units had an outcome, and which were in flight; those are
retired as ``in_flight_at_stop`` (inspection fail + unconfirmed reject), so every serial
sent to a printer is accounted for. The open case and pallet are rebuilt from the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from line_bridge.aggregation import Aggregator
from line_bridge.artwork import lines_for
from line_bridge.decision import decide
from line_bridge.devices.base import (
    Camera,
    DeviceEvent,
    DeviceState,
    InspectionResult,
    PrintAck,
    Printer,
    PrintJob,
    RejectConfirmation,
    RejectGate,
)
from line_bridge.devices.tcp import DeviceUnreachableError
from line_bridge.journal import LineJournal
from serialtrace.errors import SerialtraceError
from serialtrace.gs1.charset import date_to_yymmdd
from serialtrace.gs1.element_string import encode_unit

log = logging.getLogger(__name__)


class LineHeldError(SerialtraceError):
    """The line went to the held or aborted state; the message says why."""


@dataclass(frozen=True)
class LineConfig:
    line_id: str
    grade_threshold: float = 1.5  # ISO/IEC 15415 grade C
    decision_budget_ms: int = 500  # printed (printer's acknowledgement) → camera result
    print_budget_ms: int = 10_000  # print command → printer's acknowledgement (job queue)
    reject_budget_ms: int = 2000  # reject command → confirmation
    hold_timeout_s: float = 30.0  # held this long (device down) → aborted
    case_size: int = 20
    pallet_size: int = 40
    window: int = 32  # units between print command and final outcome
    artwork: str = "us-dscsa"


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
    late_results: int = 0
    printed_before: int = 0  # printed by earlier runs of this batch (restart)
    retired_at_restart: int = 0
    decision_latencies_us: list[int] = field(default_factory=list)

    def latency_percentile_us(self, q: float) -> int | None:
        """Camera result → decision, in µs, over this run (None when nothing decided)."""
        data = sorted(self.decision_latencies_us)
        return data[min(len(data) - 1, int(len(data) * q))] if data else None

    def summary(self) -> dict[str, object]:
        return {
            "work_order_id": self.work_order_id,
            "printed": self.printed,
            "passed": self.passed,
            "rejected": self.rejected,
            "reject_causes": dict(self.reject_causes),
            "cases": self.cases,
            "pallets": self.pallets,
            "elapsed_s": round(self.elapsed_s, 3),
            "units_per_minute": round(self.units_per_minute),
            "decision_p50_us": self.latency_percentile_us(0.50),
            "decision_p99_us": self.latency_percentile_us(0.99),
            "decision_max_us": max(self.decision_latencies_us, default=None),
            "late_results": self.late_results,
            "retired_at_restart": self.retired_at_restart,
        }

    @property
    def units_per_minute(self) -> float:
        done = self.printed - self.printed_before
        return done / self.elapsed_s * 60 if self.elapsed_s else 0.0


@dataclass
class _Unit:
    seq: int
    serial: str
    payload: str
    commanded_at: datetime
    commanded_mono: float
    printed_mono: float | None = None  # when the printer acknowledged
    decided: bool = False


ProgressCallback = Callable[[BatchResult], None]


def _now() -> datetime:
    return datetime.now(UTC)


class LineBridge:
    def __init__(
        self,
        config: LineConfig,
        printer: Printer,
        camera: Camera,
        gate: RejectGate,
        journal: LineJournal,
        new_sscc: Callable[[str], str],
        progress: ProgressCallback | None = None,
    ) -> None:
        self.config = config
        self.printer, self.camera, self.gate = printer, camera, gate
        self.journal = journal
        self.aggregator = Aggregator(config.case_size, config.pallet_size, new_sscc)
        self.progress = progress
        self.state = "idle"
        self._inflight: dict[int, _Unit] = {}  # commanded, no final outcome yet
        self._unacked: dict[int, _Unit] = {}  # commanded, printer has not answered yet
        self._rejects: dict[int, tuple[_Unit, str, datetime, float]] = {}
        self._unsent_rejects: list[int] = []
        self._passed: set[str] = set()
        self._slots = asyncio.Semaphore(config.window)
        self._failure: LineHeldError | None = None
        self._down: set[str] = set()
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._held_since: float | None = None
        self._batch: Batch | None = None
        self.result = BatchResult("")
        self._window_units = 0
        self._window_latencies: list[int] = []

    # -- states ---------------------------------------------------------------------------
    def _to(self, state: str, reason: str) -> None:
        if state == self.state:
            return
        self.journal.write(
            "line_state",
            {"from_state": self.state, "to_state": state, "reason": reason, "changed_at": _now()},
        )
        self.state = state
        if state == "held":
            self._resumed.clear()
            self._held_since = time.monotonic()
        elif state == "execute":
            self._resumed.set()
            self._held_since = None

    def _hold(self, reason: str, fatal: bool = False) -> None:
        self._to("held", reason)
        if fatal and self._failure is None:
            self._failure = LineHeldError(f"line {self.config.line_id} held: {reason}")

    # -- run ------------------------------------------------------------------------------
    async def run(self, batch: Batch) -> BatchResult:
        self._batch = batch
        result = self.result = BatchResult(batch.work_order_id)
        started = time.perf_counter()
        remaining = self._restart_bookkeeping(batch)
        self._to("starting", f"batch {batch.work_order_id}: {len(remaining)} units to print")
        tasks: list[asyncio.Task[None]] = []
        try:
            for device in (self.camera, self.gate, self.printer):
                try:
                    await device.start(self._on_event)
                except DeviceUnreachableError as exc:
                    self._to("aborted", str(exc))
                    raise LineHeldError(str(exc)) from exc
            tasks = [
                asyncio.create_task(self._watchdog()),
                asyncio.create_task(self._report(started)),
            ]
            self._to("execute", "all devices connected")
            expiry = date_to_yymmdd(batch.expiry)
            for seq, serial in remaining:
                await self._acquire_slot()
                element = encode_unit(batch.gtin, serial, batch.lot, expiry)
                hri = tuple(
                    lines_for(
                        self.config.artwork, batch.gtin, batch.ndc, serial, batch.lot, batch.expiry
                    )
                )
                unit = _Unit(seq, serial, element.payload, _now(), time.monotonic())
                self.journal.write(
                    "print_command",
                    {
                        "seq": seq,
                        "serial": serial,
                        "payload": element.payload,
                        "hri": "\n".join(hri),
                        "commanded_at": unit.commanded_at,
                    },
                )
                self._inflight[seq] = unit
                self._unacked[seq] = unit
                self.printer.print(PrintJob(seq, serial, element.payload, hri))
            for _ in range(self.config.window):  # every unit has its final outcome
                await self._acquire_slot()
            deadline = time.monotonic() + self.config.print_budget_ms / 1000
            while self._unacked and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            if self._unacked:
                self._hold(f"printer never acknowledged {len(self._unacked)} units", fatal=True)
                raise self._failure or LineHeldError("printer acknowledgements missing")
            self._to("completing", "all units decided; closing the open case and pallet")
            self.journal.write("aggregate", *self.aggregator.finish(_now()))
            self._to("complete", "batch complete")
        except BaseException:
            self._retire_in_flight()  # the line stopped: nothing in flight is left unaccounted
            raise
        finally:
            for task in tasks:
                task.cancel()
            for device in (self.printer, self.camera, self.gate):
                with contextlib.suppress(Exception):
                    await device.close()
            result.elapsed_s = time.perf_counter() - started
            result.cases = self.aggregator.cases_closed
            result.pallets = self.aggregator.pallets_closed
            self._window_units = result.printed
            self._window_latencies = result.decision_latencies_us
            self._write_metrics(result.elapsed_s)  # the whole batch in one row
            self.journal.close()
        if self.progress:
            self.progress(result)
        return result

    async def _acquire_slot(self) -> None:
        while True:
            if self._failure is not None:
                raise self._failure
            if not self._resumed.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._resumed.wait(), 0.25)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._slots.acquire(), timeout=0.25)
                return

    # -- restart --------------------------------------------------------------------------
    def _restart_bookkeeping(self, batch: Batch) -> list[tuple[int, str]]:
        """Rebuild state from the journal; retire units in flight; return what is left."""
        j, r = self.journal, self.result
        commanded = {int(row["seq"]): row for row in j.history("print_command")}
        if not commanded:
            return list(enumerate(batch.serials, start=1))
        acked = {int(row["seq"]) for row in j.history("print")}
        inspected: dict[int, dict[str, Any]] = {int(x["seq"]): x for x in j.history("inspect")}
        rejected = {int(x["seq"]) for x in j.history("reject")}
        r.printed = r.printed_before = len(acked)
        for row in inspected.values():
            if row["outcome"] == "pass":
                r.passed += 1
                self._passed.add(row["expected_serial"])
        for row in j.history("reject"):
            r.rejected += 1
            r.reject_causes[row["cause"]] += 1
        boxed = {x["child_serial"] for x in j.history("aggregate") if x["child_level"] == "item"}
        cases_on_pallets = {
            x["child_sscc"] for x in j.history("aggregate") if x["child_level"] == "case"
        }
        closed_cases = sorted(
            {x["parent_sscc"] for x in j.history("aggregate") if x["parent_level"] == "case"}
        )
        open_items = [
            (batch.gtin, row["expected_serial"])
            for seq, row in sorted(inspected.items())
            if row["outcome"] == "pass" and row["expected_serial"] not in boxed
        ]
        self.aggregator.restore(
            open_items,
            [c for c in closed_cases if c not in cases_on_pallets],
            cases_closed=len(closed_cases),
            pallets_closed=len(
                {x["parent_sscc"] for x in j.history("aggregate") if x["parent_level"] == "pallet"}
            ),
        )
        open_units = []
        for seq, cmd in sorted(commanded.items()):
            if seq in rejected or (seq in inspected and inspected[seq]["outcome"] == "pass"):
                continue
            unit = _Unit(
                seq, cmd["serial"], cmd["payload"], datetime.fromisoformat(cmd["commanded_at"]), 0.0
            )
            unit.decided = seq in inspected
            cause = (inspected[seq]["cause"] if seq in inspected else None) or "in_flight_at_stop"
            open_units.append((unit, cause, seq not in acked, cmd["hri"]))
        retired = self._retire(open_units)
        r.retired_at_restart = retired
        self.state = "aborted"
        self._to(
            "idle",
            f"restart: {len(commanded)} units already sent to the printer, "
            f"{retired} in flight retired as {cause if retired else 'none'}",
        )
        done = set(commanded)
        return [(seq, s) for seq, s in enumerate(batch.serials, start=1) if seq not in done]

    def _retire(self, units: list[tuple[_Unit, str, bool, str]]) -> int:
        """Account for units whose fate is unknown (in flight when the line stopped or the
        bridge died): inspection fail (if none) and an unconfirmed reject, so the warehouse
        decommissions them. ``units``: (unit, cause, printer never acknowledged, hri)."""
        batch = self._batch
        assert batch is not None
        j, r, now = self.journal, self.result, _now()
        for unit, cause, unacked, hri in units:
            if unacked:
                j.write(
                    "print",
                    {
                        "seq": unit.seq,
                        "printer_id": self.printer.name,
                        "gtin": batch.gtin,
                        "serial": unit.serial,
                        "lot": batch.lot,
                        "expiry": date_to_yymmdd(batch.expiry),
                        "payload": unit.payload,
                        "hri": hri,
                        "commanded_at": unit.commanded_at,
                        "acknowledged_at": None,
                    },
                )
                r.printed += 1
            if not unit.decided:
                j.write("inspect", self._inspect_row(unit.seq, unit.serial, None, cause, now))
            j.write(
                "reject",
                {
                    "seq": unit.seq,
                    "gate_id": self.gate.name,
                    "gtin": batch.gtin,
                    "serial": unit.serial,
                    "cause": cause,
                    "commanded_at": now,
                    "confirmed": False,
                    "confirmed_at": None,
                },
            )
            r.rejected += 1
            r.reject_causes[cause] += 1
        return len(units)

    def _retire_in_flight(self) -> None:
        batch = self._batch
        assert batch is not None
        units = []
        for unit in sorted(self._inflight.values(), key=lambda u: u.seq):
            pending = self._rejects.get(unit.seq)
            cause = pending[1] if pending else "in_flight_at_stop"
            hri = "\n".join(
                lines_for(
                    self.config.artwork, batch.gtin, batch.ndc, unit.serial, batch.lot, batch.expiry
                )
            )
            units.append((unit, cause, unit.seq in self._unacked, hri))
        self._retire(units)
        self._inflight.clear()
        self._unacked.clear()
        self._rejects.clear()

    # -- device events --------------------------------------------------------------------
    def _on_event(self, event: DeviceEvent) -> None:
        try:
            if isinstance(event, InspectionResult):
                self._on_inspection(event)
            elif isinstance(event, PrintAck):
                self._on_print_ack(event)
            elif isinstance(event, RejectConfirmation):
                self._on_reject_confirmation(event)
            elif isinstance(event, DeviceState):
                self._on_device_state(event)
        except SerialtraceError as exc:
            self._hold(str(exc), fatal=True)
        except Exception as exc:  # a bug must stop the line loudly, never stall it
            log.exception("line bridge failed on %s", event)
            self._hold(f"internal error on {type(event).__name__}: {exc!r}", fatal=True)

    def _on_print_ack(self, ack: PrintAck) -> None:
        unit = self._unacked.pop(ack.seq, None)
        if unit is not None:
            unit.printed_mono = time.monotonic()
        if unit is None:
            self._hold(f"printer acknowledged unit {ack.seq}, which is not in flight", fatal=True)
            return
        if not ack.ok:
            self._hold(f"printer refused unit {ack.seq}: {ack.reason}", fatal=True)
            return
        batch = self._batch
        assert batch is not None
        self.result.printed += 1
        self.journal.write(
            "print",
            {
                "seq": unit.seq,
                "printer_id": ack.device,
                "gtin": batch.gtin,
                "serial": unit.serial,
                "lot": batch.lot,
                "expiry": date_to_yymmdd(batch.expiry),
                "payload": unit.payload,
                "hri": "\n".join(
                    lines_for(
                        self.config.artwork,
                        batch.gtin,
                        batch.ndc,
                        unit.serial,
                        batch.lot,
                        batch.expiry,
                    )
                ),
                "commanded_at": unit.commanded_at,
                "acknowledged_at": _now(),
            },
        )

    def _inspect_row(
        self,
        seq: int,
        serial: str,
        result: InspectionResult | None,
        cause: str | None,
        now: datetime,
        decoded_serial: str | None = None,
        latency_us: int = 0,
    ) -> dict[str, Any]:
        batch = self._batch
        assert batch is not None
        return {
            "seq": seq,
            "camera_id": result.device if result else self.camera.name,
            "gtin": batch.gtin,
            "expected_serial": serial,
            "decoded_payload": result.decoded if result else None,
            "decoded_serial": decoded_serial,
            "grade": result.grade if result else None,
            "grade_value": result.grade_value if result else None,
            "readable": result.readable if result else False,
            "outcome": "fail" if cause else "pass",
            "cause": cause,
            "inspected_at": now,
            "decision_latency_us": latency_us,
        }

    def _on_inspection(self, result: InspectionResult) -> None:
        received = time.perf_counter_ns()
        unit = self._inflight.get(result.trigger)
        if unit is None or unit.decided:
            self.result.late_results += 1  # decided already (timeout): a late result
            return  # cannot change a decision taken fail-safe
        verdict = decide(
            unit.payload,
            result.decoded,
            result.readable,
            result.grade_value,
            self.config.grade_threshold,
            self._passed,
        )
        latency_us = (time.perf_counter_ns() - received) // 1000
        self.result.decision_latencies_us.append(latency_us)
        now = _now()
        unit.decided = True
        self.journal.write(
            "inspect",
            self._inspect_row(
                unit.seq,
                unit.serial,
                result,
                verdict.cause,
                now,
                verdict.decoded_serial,
                latency_us,
            ),
        )
        if verdict.passed:
            self._pass(unit, now)
        else:
            self._reject(unit, verdict.cause or "wrong_data", now)

    def _pass(self, unit: _Unit, now: datetime) -> None:
        batch = self._batch
        assert batch is not None
        self.result.passed += 1
        self._passed.add(unit.serial)
        del self._inflight[unit.seq]
        rows = self.aggregator.add_item(batch.gtin, unit.serial, now)
        if rows:
            self.journal.write("aggregate", *rows)
        self._slots.release()

    def _reject(self, unit: _Unit, cause: str, now: datetime) -> None:
        self._rejects[unit.seq] = (unit, cause, now, time.monotonic())
        self._send_reject(unit.seq)

    def _send_reject(self, seq: int) -> None:
        if not self.gate.reject(seq):  # gate link down: sent again when it reconnects
            self._unsent_rejects.append(seq)

    def _on_reject_confirmation(self, confirmation: RejectConfirmation) -> None:
        entry = self._rejects.pop(confirmation.seq, None)
        if entry is None:
            self._hold(
                f"reject gate confirmed unit {confirmation.seq}, which was not rejected", fatal=True
            )
            return
        unit, cause, commanded_at, _ = entry
        batch = self._batch
        assert batch is not None
        self.journal.write(
            "reject",
            {
                "seq": unit.seq,
                "gate_id": confirmation.device,
                "gtin": batch.gtin,
                "serial": unit.serial,
                "cause": cause,
                "commanded_at": commanded_at,
                "confirmed": confirmation.confirmed,
                "confirmed_at": _now() if confirmation.confirmed else None,
            },
        )
        self.result.rejected += 1
        self.result.reject_causes[cause] += 1
        del self._inflight[unit.seq]
        if not confirmation.confirmed:
            self._hold(
                f"reject of unit {unit.seq} ({unit.serial}) not confirmed by the gate", fatal=True
            )
            return
        self._slots.release()

    def _on_device_state(self, state: DeviceState) -> None:
        if not state.connected:
            self._down.add(state.device)
            self._hold(f"{state.device} disconnected: {state.reason}")
            return
        self._down.discard(state.device)
        if state.device == self.gate.name:
            unsent, self._unsent_rejects = self._unsent_rejects, []
            for seq in unsent:
                self._send_reject(seq)
        if not self._down and self.state == "held" and self._failure is None:
            self._to("execute", f"{state.device} reconnected")

    # -- timers ---------------------------------------------------------------------------
    async def _watchdog(self) -> None:
        """Fail safe: no camera result in the budget → reject; no reject confirmation in
        its budget → hold; held too long with a device down → abort."""
        budget = self.config.decision_budget_ms / 1000
        print_budget = self.config.print_budget_ms / 1000
        reject_budget = self.config.reject_budget_ms / 1000
        while True:
            await asyncio.sleep(min(budget, reject_budget) / 4)
            now = time.monotonic()
            for unit in list(self._inflight.values()):
                if unit.printed_mono is None:
                    if now - unit.commanded_mono > print_budget:
                        self._hold(
                            f"printer has not printed unit {unit.seq} within "
                            f"{self.config.print_budget_ms} ms",
                            fatal=True,
                        )
                    continue
                if not unit.decided and now - unit.printed_mono > budget:
                    unit.decided = True
                    stamp = _now()
                    self.journal.write(
                        "inspect", self._inspect_row(unit.seq, unit.serial, None, "timeout", stamp)
                    )
                    self._reject(unit, "timeout", stamp)
            for seq, (_, _, _, sent) in list(self._rejects.items()):
                if now - sent > reject_budget and seq not in self._unsent_rejects:
                    self._hold(
                        f"no reject confirmation for unit {seq} within "
                        f"{self.config.reject_budget_ms} ms",
                        fatal=True,
                    )
            if self._held_since and now - self._held_since > self.config.hold_timeout_s:
                reason = f"held for {self.config.hold_timeout_s:.0f} s with "
                reason += f"{', '.join(sorted(self._down)) or 'a device'} down"
                self._to("aborted", reason)
                self._failure = self._failure or LineHeldError(
                    f"line {self.config.line_id} aborted: {reason}"
                )

    def _write_metrics(self, window_s: float) -> None:
        r = self.result
        decided = r.passed + r.rejected
        latencies = sorted(self._window_latencies)
        self.journal.write(
            "metrics",
            {
                "measured_at": _now(),
                "window_s": window_s,
                "printed": r.printed,
                "passed": r.passed,
                "rejected": r.rejected,
                "units_per_minute": (self._window_units / window_s * 60) if window_s else 0.0,
                "camera_pass_rate": (r.passed / decided) if decided else None,
                "decision_p99_us": latencies[int(len(latencies) * 0.99)] if latencies else None,
            },
        )
        self._window_units = 0
        self._window_latencies = []

    async def _report(self, started: float) -> None:
        last, last_printed, seen = time.perf_counter(), 0, 0
        while True:
            await asyncio.sleep(1.0)
            now = time.perf_counter()
            self.result.elapsed_s = now - started
            self._window_units = self.result.printed - last_printed
            self._window_latencies = self.result.decision_latencies_us[seen:]
            seen = len(self.result.decision_latencies_us)
            last_printed = self.result.printed
            self._write_metrics(now - last)
            last = now
            if self.progress:
                self.progress(self.result)
