"""The line bridge: drives printer, camera and reject gate for one batch, through their
adapters (line_bridge/devices/), and journals every fact before acting on it.

Units are tracked by position (``seq``) from print command to camera result. Each result
is decided at once (line_bridge/decision.py); a failed unit is rejected at the gate, and
a reject that is not confirmed in time holds the line. No camera result within the
decision budget is a reject (fail safe). Passed units are packed into cases and pallets
by count (line_bridge/aggregation.py), or, on a line with aggregation stations, as the
case packer and palletizer report them: each container they close is checked
(line_bridge/stations.py), then closed and labelled, or refused and diverted for rework.
Line states follow PackML (idle, starting, execute, held,
completing, complete, aborted), each change journaled with its reason.

Restart after a crash: the journal tells which serials were already sent to the printer
(never sent again), which units had an outcome, and which were in flight; those are
retired as ``in_flight_at_stop`` (inspection fail + unconfirmed reject), so every serial
sent to a printer is accounted for. The open case and pallet are rebuilt from the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from line_bridge.aggregation import Aggregator
from line_bridge.artwork import lines_for, national_rule, sscc_label_lines
from line_bridge.decision import decide, decide_case
from line_bridge.devices.base import (
    Camera,
    CaseInspection,
    CaseRejectConfirmation,
    DeviceEvent,
    DeviceState,
    InspectionResult,
    LabelAck,
    LabelJob,
    PrintAck,
    Printer,
    PrintJob,
    RejectConfirmation,
    RejectGate,
    StationClosed,
    StationDiverted,
    StationScan,
)
from line_bridge.devices.tcp import DeviceUnreachableError
from line_bridge.journal import LineJournal
from line_bridge.stations import LEVELS, ContainerRefusedError, StationPacking, Stations
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
    member_state: str | None = None  # EU member state of the packs (its national number)
    station_settle_ms: int = 3000  # batch end: no station news this long → close partials
    case_inspect_budget_ms: int = 5000  # case label acknowledged → case camera result
    label_reprints: int = 2  # a label the printer's verifier rejects is printed again this often


@dataclass(frozen=True)
class Batch:
    work_order_id: str
    gtin: str
    ndc: str | None
    lot: str
    expiry: date
    serials: Sequence[str]
    nhrn: str | None = None  # national number printed where the member state needs one


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
    grades: Counter[str] = field(default_factory=Counter)  # camera grades, every inspection
    cases_refused: int = 0  # containers a station closed that the bridge refused
    cases_inspected: int = 0  # by the case camera (second inspection point)
    cases_rejected: int = 0  # failed the case camera, pushed off the line, unpacked
    pallets_refused: int = 0
    unpacked: int = 0  # passed units in no case at batch end (stations only): rework
    duplicate_messages: int = 0  # device messages delivered again (restarts): ignored
    labels_reprinted: int = 0  # bad labels (verifier) printed again

    @property
    def camera_pass_rate(self) -> float | None:
        decided = self.passed + self.rejected
        return self.passed / decided if decided else None

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
            "reject_rate_by_cause": {
                cause: round(n / self.printed, 6) for cause, n in self.reject_causes.items()
            }
            if self.printed
            else {},
            "camera_pass_rate": self.camera_pass_rate,
            "grades": dict(sorted(self.grades.items())),
            "cases": self.cases,
            "pallets": self.pallets,
            "cases_refused": self.cases_refused,
            "cases_inspected": self.cases_inspected,
            "cases_rejected": self.cases_rejected,
            "pallets_refused": self.pallets_refused,
            "unpacked": self.unpacked,
            "duplicate_messages": self.duplicate_messages,
            "labels_reprinted": self.labels_reprinted,
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


def check_artwork(config: LineConfig, batch: Batch) -> None:
    """Refuse a batch whose human-readable lines cannot be rendered (no NDC for the US
    template, no or a malformed national number where the member state needs one)."""
    for serial in batch.serials[:1]:
        lines_for(
            config.artwork,
            batch.gtin,
            batch.ndc,
            serial,
            batch.lot,
            batch.expiry,
            member_state=config.member_state,
            nhrn=batch.nhrn,
        )


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
        stations: Stations | None = None,
    ) -> None:
        self.config = config
        self.printer, self.camera, self.gate = printer, camera, gate
        self.journal = journal
        self.aggregator = Aggregator(config.case_size, config.pallet_size, new_sscc)
        self._new_sscc = new_sscc
        self.stations = stations
        self.packing: StationPacking | None = None  # with stations: what they packed
        self._labels: dict[str, tuple[str, float]] = {}  # SSCC → (level, sent), not acked
        self._labelled: set[str] = set()  # SSCCs whose label was acknowledged (any run)
        self._label_retries: Counter[str] = Counter()  # SSCC → labels reprinted (bad label)
        self._diverted: set[tuple[str, int]] = set()  # confirmed diverts (any run)
        self._cases_awaiting: dict[str, float] = {}  # labelled case → when, no case result
        self._case_inspected: set[str] = set()  # cases the case camera decided (any run)
        self._case_rejects: dict[str, tuple[str, float]] = {}  # SSCC → (cause, sent)
        self._cases_rejected: set[str] = set()  # confirmed off the line (any run)
        self._diverts: dict[tuple[str, int], float] = {}  # refused, not yet diverted
        self._divert_reasons: dict[tuple[str, int], str] = {}
        self._unsent: dict[str, list[Callable[[], bool]]] = {}  # device → commands to resend
        self._batch_end: dict[str, asyncio.Event] = {}
        self._station_activity = time.monotonic()
        self._before_hold = "execute"
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
        if state == "held" and self.state not in ("held", "aborted"):
            self._before_hold = self.state
        self.state = state
        if state == "held":
            self._resumed.clear()
            self._held_since = time.monotonic()
        elif state == "execute":
            self._resumed.set()
            self._held_since = None
        elif state != "aborted":
            self._held_since = None

    def _hold(self, reason: str, fatal: bool = False) -> None:
        if fatal and self.state == "held":  # held already: the new reason still gets a row
            self.journal.write(
                "line_state",
                {"from_state": "held", "to_state": "held", "reason": reason, "changed_at": _now()},
            )
        self._to("held", reason)
        if fatal and self._failure is None:
            self._failure = LineHeldError(f"line {self.config.line_id} held: {reason}")

    def _release(self, reason: str) -> None:
        """Leave a held state when nothing holds the line any more."""
        if self.state == "held" and not self._down and not self._diverts and not self._failure:
            self._to(self._before_hold, reason)

    # -- run ------------------------------------------------------------------------------
    async def run(self, batch: Batch) -> BatchResult:
        self._batch = batch
        result = self.result = BatchResult(batch.work_order_id)
        started = time.perf_counter()
        if self.stations is not None:
            self.packing = StationPacking(
                batch.gtin, self.config.case_size, self.config.pallet_size, self._new_sscc
            )
        remaining = self._restart_bookkeeping(batch)
        self._to("starting", f"batch {batch.work_order_id}: {len(remaining)} units to print")
        tasks: list[asyncio.Task[None]] = []
        try:
            for device in self._devices():
                try:
                    await device.start(self._on_event)
                except DeviceUnreachableError as exc:
                    self._to("aborted", str(exc))
                    raise LineHeldError(str(exc)) from exc
            self._resume_station_work()
            tasks = [
                asyncio.create_task(self._watchdog()),
                asyncio.create_task(self._report(started)),
            ]
            if self.state == "held":  # a device already lost again, or a refused container:
                self._before_hold = "execute"  # execute once that is over
            else:
                self._to("execute", "all devices connected")
            expiry = date_to_yymmdd(batch.expiry)
            for seq, serial in remaining:
                await self._acquire_slot()
                element = encode_unit(batch.gtin, serial, batch.lot, expiry, self._national_ais())
                hri = tuple(self._hri(serial))
                if self.packing is not None:
                    self.packing.payloads[element.payload] = serial
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
            if self._failure is not None:
                raise self._failure
            self._to("completing", "all units decided; closing the open case and pallet")
            if self.packing is None:
                self.journal.write("aggregate", *self.aggregator.finish(_now()))
                self._to("complete", "batch complete")
            else:
                await self._finish_stations()
                if self._failure is not None:
                    raise self._failure
                result.unpacked = self.packing.unpacked()
                loose = f"; {result.unpacked} passed units in no case (rework)"
                self._to("complete", "batch complete" + (loose if result.unpacked else ""))
        except BaseException:
            self._retire_in_flight()  # the line stopped: nothing in flight is left unaccounted
            raise
        finally:
            for task in tasks:
                task.cancel()
            for device in self._devices():
                with contextlib.suppress(Exception):
                    await device.close()
            result.elapsed_s = time.perf_counter() - started
            result.cases, result.pallets = self._containers_closed()
            if self.packing is not None:
                result.cases_refused = self.packing.refused["case"]
                result.pallets_refused = self.packing.refused["pallet"]
            self._window_units = result.printed
            self._window_latencies = result.decision_latencies_us
            self._write_metrics(result.elapsed_s)  # the whole batch in one row
            self.journal.close()
        log.info("batch %s: %s", batch.work_order_id, json.dumps(result.summary()))
        if self.progress:
            self.progress(result)
        return result

    def _devices(self) -> list[Any]:
        """Every device, in start order: label printers before the stations (a station's
        first messages may close a container, whose label goes out at once), the printer
        last (it starts the flow)."""
        s = self.stations
        stations: list[Any] = []
        if s is not None:
            stations = [s.case_labeler, s.pallet_labeler, s.case_packer, s.palletizer]
            stations[2:2] = [s.case_camera] if s.case_camera is not None else []
        return [self.camera, self.gate, *stations, self.printer]

    def _containers_closed(self) -> tuple[int, int]:
        if self.packing is not None:
            return self.packing.cases_closed, self.packing.pallets_closed
        return self.aggregator.cases_closed, self.aggregator.pallets_closed

    def _national_ais(self) -> list[tuple[str, str]]:
        """The NHRN AI of the member state, when the artwork prints a national number."""
        batch = self._batch
        assert batch is not None
        rule = national_rule(self.config.artwork, self.config.member_state)
        return [(rule.ai, batch.nhrn)] if rule is not None and batch.nhrn else []

    def _hri(self, serial: str) -> list[str]:
        batch = self._batch
        assert batch is not None
        return lines_for(
            self.config.artwork,
            batch.gtin,
            batch.ndc,
            serial,
            batch.lot,
            batch.expiry,
            member_state=self.config.member_state,
            nhrn=batch.nhrn,
        )

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
            if row["grade"] is not None:
                r.grades[row["grade"]] += 1
            if row["outcome"] == "pass":
                r.passed += 1
                self._passed.add(row["expected_serial"])
        for row in j.history("reject"):
            r.rejected += 1
            r.reject_causes[row["cause"]] += 1
        if self.packing is not None:
            self._restore_packing(commanded, inspected)
        else:
            self._restore_aggregator(batch, inspected)
        open_units = []
        for seq, cmd in sorted(commanded.items()):
            unit = _Unit(
                seq, cmd["serial"], cmd["payload"], datetime.fromisoformat(cmd["commanded_at"]), 0.0
            )
            if seq in rejected or (seq in inspected and inspected[seq]["outcome"] == "pass"):
                if seq not in acked:  # decided before the printer's ack arrived, then died
                    self._print_unacknowledged(unit, cmd["hri"])
                continue
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

    def _restore_aggregator(self, batch: Batch, inspected: dict[int, dict[str, Any]]) -> None:
        """Software aggregation after a restart: the open case holds the passed items never
        packed, the open pallet the closed cases never palletized (an item or a case
        unpacked in rework is off the line: it is not packed again here)."""
        history = list(self.journal.history("aggregate"))
        boxed = {x["child_serial"] for x in history if x["child_level"] == "item"}
        cases_on_pallets = {x["child_sscc"] for x in history if x["child_level"] == "case"}
        closed_cases = sorted({x["parent_sscc"] for x in history if x["parent_level"] == "case"})
        open_items = [
            (batch.gtin, row["expected_serial"])
            for seq, row in sorted(inspected.items())
            if row["outcome"] == "pass" and row["expected_serial"] not in boxed
        ]
        rolled_forward = self.aggregator.restore(
            open_items,
            [c for c in closed_cases if c not in cases_on_pallets],
            cases_closed=len(closed_cases),
            pallets_closed=len({x["parent_sscc"] for x in history if x["child_level"] == "case"}),
            at=_now(),
        )
        if rolled_forward:  # died between an item's pass and the case it filled
            self.journal.write("aggregate", *rolled_forward)

    def _restore_packing(
        self, commanded: dict[int, dict[str, Any]], inspected: dict[int, dict[str, Any]]
    ) -> None:
        """Stations after a restart: what was packed, the stations' open containers, and
        the labels and diverts left unfinished (sent again once the devices are up)."""
        packing, j = self.packing, self.journal
        assert packing is not None
        for cmd in commanded.values():
            packing.payloads[cmd["payload"]] = cmd["serial"]
        packing.passed |= self._passed
        for row in inspected.values():
            if row["outcome"] == "fail":
                packing.rejected[row["expected_serial"]] = row["cause"]
        station = list(j.history("station"))
        missing = packing.restore(list(j.history("aggregate")), station)
        if missing:  # closed, rows not journaled (died between the writes): roll forward
            j.write("aggregate", *missing)
        self._labelled = {x["sscc"] for x in station if x["event"] == "labelled"}
        self._diverted = {
            (x["level"], int(x["container"])) for x in station if x["event"] == "diverted"
        }
        if self._case_camera() is not None:
            self._restore_case_camera(station)
        for row in station:
            if row["event"] == "closed" and row["sscc"] and row["sscc"] not in self._labelled:
                # the closed row is the label's send intent, journaled before the label was
                # sent: printed or not, it is sent again (label commands are idempotent per
                # SSCC, docs/line-protocol.md), and an ack the device kept from the killed
                # run is matched here as well
                self._labels[row["sscc"]] = (row["level"], 0.0)
            if row["event"] != "refused":
                continue
            key = (row["level"], int(row["container"]))
            if key not in self._diverted:
                self._diverts[key] = 0.0
                self._divert_reasons[key] = row["reason"]

    def _resume_station_work(self) -> None:
        """Send again the labels and diverts a restart found unfinished, and what the
        devices' first messages made the bridge send to a device not yet connected."""
        for device, commands in list(self._unsent.items()):
            del self._unsent[device]
            for command in commands:
                self._send(device, command)
        for sscc, (level, _) in list(self._labels.items()):
            self._label(level, sscc)
        now = time.monotonic()
        for sscc in self._cases_awaiting:
            self._cases_awaiting[sscc] = now
        for sscc, (cause, _) in list(self._case_rejects.items()):
            self._reject_case(sscc, cause)
        for level, container in list(self._diverts):
            self._divert(level, container, self._divert_reasons.get((level, container), ""))

    def _retire(self, units: list[tuple[_Unit, str, bool, str]]) -> int:
        """Account for units whose fate is unknown (in flight when the line stopped or the
        bridge died): inspection fail (if none) and an unconfirmed reject, so the warehouse
        decommissions them. ``units``: (unit, cause, printer never acknowledged, hri)."""
        batch = self._batch
        assert batch is not None
        j, r, now = self.journal, self.result, _now()
        for unit, cause, unacked, hri in units:
            if unacked:
                self._print_unacknowledged(unit, hri)
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
            if self.packing is not None:
                self.packing.rejected[unit.serial] = cause
        return len(units)

    def _print_unacknowledged(self, unit: _Unit, hri: str) -> None:
        """The print row of a unit sent to the printer whose acknowledgement never came
        (``acknowledged_at`` null): every serial sent to a printer is in ``print``."""
        batch = self._batch
        assert batch is not None
        self.journal.write(
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
        self.result.printed += 1

    def _retire_in_flight(self) -> None:
        batch = self._batch
        assert batch is not None
        for unit in sorted(self._unacked.values(), key=lambda u: u.seq):
            if unit.seq not in self._inflight:  # decided, the printer's ack still missing
                self._print_unacknowledged(unit, "\n".join(self._hri(unit.serial)))
        units = []
        for unit in sorted(self._inflight.values(), key=lambda u: u.seq):
            pending = self._rejects.get(unit.seq)
            cause = pending[1] if pending else "in_flight_at_stop"
            hri = "\n".join(self._hri(unit.serial))
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
            elif isinstance(event, StationScan):
                self._on_station_scan(event)
            elif isinstance(event, StationClosed):
                self._on_station_closed(event)
            elif isinstance(event, StationDiverted):
                self._on_station_diverted(event)
            elif isinstance(event, LabelAck):
                self._on_label_ack(event)
            elif isinstance(event, CaseInspection):
                self._on_case_inspection(event)
            elif isinstance(event, CaseRejectConfirmation):
                self._on_case_reject_confirmation(event)
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
                "hri": "\n".join(self._hri(unit.serial)),
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
        if result.grade is not None:
            self.result.grades[result.grade] += 1
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
        if self.packing is not None:  # the case packer will say where it went
            self.packing.passed.add(unit.serial)
        elif rows := self.aggregator.add_item(batch.gtin, unit.serial, now):
            self.journal.write("aggregate", *rows)
        self._slots.release()

    def _reject(self, unit: _Unit, cause: str, now: datetime) -> None:
        if self.packing is not None:
            self.packing.rejected[unit.serial] = cause
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
        for command in self._unsent.pop(state.device, []):
            self._send(state.device, command)
        if self.stations is not None:  # labels sent before the loss may never have arrived:
            for level in LEVELS:  # sent again (idempotent per SSCC at the printer)
                if self.stations.labeler(level).name == state.device:
                    for sscc, (label_level, _) in list(self._labels.items()):
                        if label_level == level:
                            self._label(level, sscc)
        self._release(f"{state.device} reconnected")

    # -- aggregation stations -------------------------------------------------------------
    def _send(self, device: str, command: Callable[[], bool]) -> None:
        if not command():  # link down: sent again when the device reconnects
            self._unsent.setdefault(device, []).append(command)

    def _station_row(
        self, event: str, device: str, level: str, container: int | None, **values: Any
    ) -> None:
        self.journal.write(
            "station",
            {
                "station_id": device,
                "level": level,
                "container": container,
                "event": event,
                "code": values.get("code"),
                "count": values.get("count"),
                "sscc": values.get("sscc"),
                "reason": values.get("reason"),
                "recorded_at": _now(),
            },
        )

    def _on_station_scan(self, scan: StationScan) -> None:
        assert self.stations is not None and self.packing is not None
        level = self.stations.level_of(scan.device)
        if self.packing.is_duplicate(level, scan.container):
            self._duplicate(f"{scan.device} scan into {level} {scan.container}, closed already")
            return
        self._station_row("scan", scan.device, level, scan.container, code=scan.code)
        self.packing.scan(level, scan.container, scan.code)
        self._station_activity = time.monotonic()

    def _on_station_closed(self, closed: StationClosed) -> None:
        assert self.stations is not None and self.packing is not None
        level = self.stations.level_of(closed.device)
        self._station_activity = time.monotonic()
        if self.packing.is_duplicate(level, closed.container):
            self._duplicate(f"{closed.device} closed {level} {closed.container} again")
            if closed.batch_end and level in self._batch_end:
                self._batch_end[level].set()
            return
        now = _now()
        try:
            rows = self.packing.close(level, closed.container, closed.count, now)
        except ContainerRefusedError as exc:
            reason = f"{level} {closed.container} at {closed.device} refused: {exc}"
            self._station_row(
                "refused", closed.device, level, closed.container, count=closed.count, reason=reason
            )
            self._divert(level, closed.container, reason)
        else:
            sscc = rows[0]["parent_sscc"] if rows else None
            # the station's row first (the decision, and the label's send intent), then the
            # container's links in one write; a restart rebuilds links missing after a row
            self._station_row(
                "closed", closed.device, level, closed.container, count=closed.count, sscc=sscc
            )
            if rows:
                self.journal.write("aggregate", *rows)
            if sscc is not None:
                self._label(level, sscc)
        if closed.batch_end and level in self._batch_end:
            self._batch_end[level].set()

    def _divert(self, level: str, container: int, reason: str) -> None:
        assert self.stations is not None
        station = self.stations.station(level)
        self._diverts[(level, container)] = time.monotonic()
        self._divert_reasons[(level, container)] = reason
        self._hold(f"{reason}; diverting it for rework")
        self._send(station.name, lambda: station.divert(container, reason))

    def _on_station_diverted(self, diverted: StationDiverted) -> None:
        assert self.stations is not None
        level = self.stations.level_of(diverted.device)
        key = (level, diverted.container)
        if key in self._diverted and key not in self._diverts:
            self._duplicate(f"{diverted.device} diverted {level} {diverted.container} again")
            return
        if self._diverts.pop(key, None) is None:
            self._hold(
                f"{diverted.device} diverted {level} {diverted.container}, which was not refused",
                fatal=True,
            )
            return
        self._diverted.add(key)
        self._station_row("diverted", diverted.device, level, diverted.container)
        self._release(f"{level} {diverted.container} diverted for rework")

    def _label(self, level: str, sscc: str) -> None:
        assert self.stations is not None
        labeler = self.stations.labeler(level)
        job = LabelJob(level, sscc, f"00{sscc}", tuple(sscc_label_lines(level, sscc)))
        self._labels[sscc] = (level, time.monotonic())
        self._send(labeler.name, lambda: labeler.label(job))

    def _on_label_ack(self, ack: LabelAck) -> None:
        """A label printer's answer. Acks are matched by SSCC against every label of the
        batch, whichever run sent it: a device may deliver an answer again (at least once,
        across restarts), and an SSCC already labelled is then no news."""
        entry = self._labels.get(ack.sscc)
        if entry is None:
            if ack.sscc in self._labelled:
                self._duplicate(f"{ack.device} acknowledged label {ack.sscc} again")
                return
            self._hold(f"{ack.device} acknowledged label {ack.sscc}, never sent", fatal=True)
            return
        level = entry[0]
        if not ack.ok:
            if ack.retry and self._label_retries[ack.sscc] < self.config.label_reprints:
                self._label_retries[ack.sscc] += 1
                self.result.labels_reprinted += 1
                self._station_row(
                    "label_failed", ack.device, level, None, sscc=ack.sscc, reason=ack.reason
                )
                self._label(level, ack.sscc)  # a fresh label; the bad one is voided
                return
            del self._labels[ack.sscc]
            self._station_row(
                "label_failed", ack.device, level, None, sscc=ack.sscc, reason=ack.reason
            )
            self._hold(f"{level} label {ack.sscc} not printed: {ack.reason}", fatal=True)
            return
        del self._labels[ack.sscc]
        self._labelled.add(ack.sscc)
        self._station_row("labelled", ack.device, level, None, sscc=ack.sscc)
        # the case camera's result is due now (unless it came before this ack)
        camera = self._case_camera() is not None and level == "case"
        if camera and ack.sscc not in self._case_inspected:
            self._cases_awaiting[ack.sscc] = time.monotonic()

    # -- case camera (second inspection point) --------------------------------------------
    def _case_camera(self) -> Any:
        return self.stations.case_camera if self.stations is not None else None

    def _on_case_inspection(self, result: CaseInspection) -> None:
        """A case passes only if the case camera read exactly its label ``00<SSCC>`` at or
        above the grade threshold; a failed case is pushed off the line (then unpacked)."""
        received = time.perf_counter_ns()
        packing = self.packing
        assert packing is not None
        if result.sscc in self._case_inspected:
            self._duplicate(f"{result.device} inspected case {result.sscc} again")
            return
        if result.sscc not in packing.case_pallet:
            self._hold(
                f"{result.device} inspected case {result.sscc}, which the bridge never closed",
                fatal=True,
            )
            return
        cause = decide_case(
            result.sscc,
            result.decoded,
            result.readable,
            result.grade_value,
            self.config.grade_threshold,
        )
        latency_us = (time.perf_counter_ns() - received) // 1000
        self._case_row(result.sscc, result, cause, latency_us)
        if cause is not None:
            self._reject_case(result.sscc, cause)

    def _case_row(
        self, sscc: str, result: CaseInspection | None, cause: str | None, latency_us: int = 0
    ) -> None:
        camera = self._case_camera()
        self._cases_awaiting.pop(sscc, None)
        self._case_inspected.add(sscc)
        self.result.cases_inspected += 1
        self.journal.write(
            "case_inspect",
            {
                "camera_id": result.device if result else camera.name,
                "sscc": sscc,
                "decoded_payload": result.decoded if result else None,
                "grade": result.grade if result else None,
                "grade_value": result.grade_value if result else None,
                "readable": result.readable if result else False,
                "outcome": "fail" if cause else "pass",
                "cause": cause,
                "inspected_at": _now(),
                "decision_latency_us": latency_us,
            },
        )

    def _reject_case(self, sscc: str, cause: str) -> None:
        camera = self._case_camera()
        self._case_rejects[sscc] = (cause, time.monotonic())
        self._send(camera.name, lambda: camera.reject(sscc))

    def _on_case_reject_confirmation(self, confirmation: CaseRejectConfirmation) -> None:
        packing = self.packing
        assert packing is not None
        entry = self._case_rejects.pop(confirmation.sscc, None)
        if entry is None:
            if confirmation.sscc in self._cases_rejected:
                self._duplicate(f"{confirmation.device} rejected case {confirmation.sscc} again")
                return
            self._hold(
                f"{confirmation.device} confirmed the reject of case {confirmation.sscc}, "
                "which was not rejected",
                fatal=True,
            )
            return
        cause = entry[0]
        if not confirmation.confirmed:
            self._hold(
                f"case {confirmation.sscc} failed the case camera ({cause}) but was not "
                "pushed off the line",
                fatal=True,
            )
            return
        # the station row first (the fact), then the undone links: a restart rolls forward
        self._cases_rejected.add(confirmation.sscc)
        self._station_row(
            "case_rejected",
            confirmation.device,
            "case",
            None,
            sscc=confirmation.sscc,
            reason=f"case camera: {cause}",
        )
        if rows := packing.unpack_rejected_case(confirmation.sscc, _now()):
            self.journal.write("aggregate", *rows)
        self.result.cases_rejected += 1

    def _restore_case_camera(self, station: list[dict[str, Any]]) -> None:
        """After a restart: cases inspected, failed cases whose reject is unconfirmed (sent
        again: idempotent per SSCC), labelled cases with no result yet (a new budget)."""
        self._cases_rejected = {x["sscc"] for x in station if x["event"] == "case_rejected"}
        for row in self.journal.history("case_inspect"):
            self._case_inspected.add(row["sscc"])
            self.result.cases_inspected += 1
            if row["outcome"] == "fail" and row["sscc"] not in self._cases_rejected:
                self._case_rejects[row["sscc"]] = (row["cause"], 0.0)
        self.result.cases_rejected = len(self._cases_rejected)
        done = self._case_inspected | self._cases_rejected
        for row in station:
            if row["event"] == "labelled" and row["level"] == "case" and row["sscc"] not in done:
                self._cases_awaiting[row["sscc"]] = 0.0

    def _duplicate(self, what: str) -> None:
        """A device message delivered again: nothing new, counted and logged."""
        self.result.duplicate_messages += 1
        log.info("duplicate device message ignored: %s", what)

    async def _finish_stations(self) -> None:
        """Batch end with stations: wait until the units in transit reached the case packer,
        have it close the partial case, wait until the labelled cases reached the
        palletizer, have it close the partial pallet, wait for the last labels."""
        packing = self.packing
        assert packing is not None
        self._station_activity = time.monotonic()
        await self._settle(lambda: packing.unscanned() == 0)
        await self._close_partial("case")
        await self._settle(lambda: not self._labels and packing.cases_off_pallet() == 0)
        await self._close_partial("pallet")
        await self._settle(
            lambda: (
                not self._labels
                and not self._diverts
                and not self._cases_awaiting
                and not self._case_rejects
            ),
            quiet=False,
        )

    async def _settle(self, done: Callable[[], bool], quiet: bool = True) -> None:
        """Until ``done()``, or (``quiet``) the stations said nothing for the settle time;
        without ``quiet`` the print budget is the limit and running out of it holds."""
        settle = self.config.station_settle_ms / 1000
        limit = time.monotonic() + self.config.print_budget_ms / 1000
        while True:
            if self._failure is not None:
                raise self._failure
            if done():
                return
            now = time.monotonic()
            if quiet and now - self._station_activity > settle:
                return
            if not quiet and now > limit:
                self._hold(
                    f"batch end: {len(self._labels)} labels not printed, "
                    f"{len(self._diverts)} containers not diverted, "
                    f"{len(self._cases_awaiting)} cases not inspected, "
                    f"{len(self._case_rejects)} case rejects not confirmed",
                    fatal=True,
                )
            await asyncio.sleep(0.01)

    async def _close_partial(self, level: str) -> None:
        assert self.stations is not None
        station = self.stations.station(level)
        answered = self._batch_end[level] = asyncio.Event()
        self._send(station.name, station.close_partial)
        budget = self.config.print_budget_ms / 1000
        deadline = time.monotonic() + budget
        while not answered.is_set():
            if self._failure is not None:
                raise self._failure
            if time.monotonic() > deadline:
                self._hold(
                    f"{station.name} did not close the partial {level} within {budget:.0f} s",
                    fatal=True,
                )
            await asyncio.sleep(0.01)

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
            for sscc, (level, sent) in list(self._labels.items()):
                if sent and now - sent > print_budget:
                    self._hold(
                        f"{level} label {sscc} not acknowledged within "
                        f"{self.config.print_budget_ms} ms",
                        fatal=True,
                    )
            case_budget = self.config.case_inspect_budget_ms / 1000
            for sscc, since in list(self._cases_awaiting.items()):
                if since and now - since > case_budget:  # no case result: fail safe
                    self._case_row(sscc, None, "timeout")
                    self._reject_case(sscc, "timeout")
            for sscc, (_, sent) in list(self._case_rejects.items()):
                if sent and now - sent > reject_budget:
                    self._hold(
                        f"no reject confirmation for case {sscc} within "
                        f"{self.config.reject_budget_ms} ms",
                        fatal=True,
                    )
            for (level, container), sent in list(self._diverts.items()):
                if sent and now - sent > reject_budget:
                    self._hold(
                        f"{level} {container} not diverted within "
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
        cases, pallets = self._containers_closed()
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
                "rejects_by_cause": json.dumps(dict(sorted(r.reject_causes.items()))),
                "grade_counts": json.dumps(dict(sorted(r.grades.items()))),
                "cases_closed": cases,
                "pallets_closed": pallets,
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
