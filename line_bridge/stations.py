"""Aggregation with stations: the case packer and the palletizer say what they packed.

When a line file has aggregation stations (``devices.case_packer``, ``devices.case_labeler``,
``devices.palletizer``, ``devices.pallet_labeler``), the bridge no longer packs passed
units in software (line_bridge/aggregation.py). The case packer reports every code it
scans into the case it is filling and closes the case with its own count of the items in
it; the bridge checks the case (:meth:`StationPacking.close`) and either closes it (SSCC,
aggregation rows, case label) or refuses it, with the reason, and has it diverted for
rework. The palletizer does the same with the case labels it scans onto a pallet.

A case closes only when every item in it passed the camera, was scanned into it and is
in no other case, and the station's count equals the codes scanned; a pallet only when
every case on it is a closed, labelled case of this batch on no other pallet. Pure: no
I/O, time passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from line_bridge.aggregation import link_row
from line_bridge.devices.base import AggregationStation, CaseCamera, LabelPrinter
from serialtrace.errors import SerialtraceError, ValidationError
from serialtrace.gs1.element_string import parse

LEVELS = ("case", "pallet")


@dataclass(frozen=True)
class Stations:
    """The aggregation devices of a line that has them."""

    case_packer: AggregationStation
    case_labeler: LabelPrinter
    palletizer: AggregationStation
    pallet_labeler: LabelPrinter
    case_camera: CaseCamera | None = None  # optional second inspection point

    def all(self) -> tuple[AggregationStation | LabelPrinter | CaseCamera, ...]:
        devices = (self.case_packer, self.case_labeler, self.palletizer, self.pallet_labeler)
        return devices + ((self.case_camera,) if self.case_camera else ())

    def station(self, level: str) -> AggregationStation:
        return self.case_packer if level == "case" else self.palletizer

    def labeler(self, level: str) -> LabelPrinter:
        return self.case_labeler if level == "case" else self.pallet_labeler

    def level_of(self, device: str) -> str:
        return "case" if device == self.case_packer.name else "pallet"


class ContainerRefusedError(SerialtraceError):
    """A station closed a container the bridge may not aggregate; the message says why."""


@dataclass
class StationPacking:
    """What the stations packed, checked. ``new_sscc(level)`` gives a fresh SSCC."""

    gtin: str
    case_size: int
    pallet_size: int
    new_sscc: Callable[[str], str]
    payloads: dict[str, str] = field(default_factory=dict)  # element string → serial
    passed: set[str] = field(default_factory=set)
    rejected: dict[str, str] = field(default_factory=dict)  # serial → cause
    item_case: dict[str, str] = field(default_factory=dict)  # packed serial → case SSCC
    case_pallet: dict[str, str | None] = field(default_factory=dict)  # closed case → pallet
    pallets: set[str] = field(default_factory=set)
    scanned: set[str] = field(default_factory=set)  # every code any station read
    open: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (level, no) → codes
    refused: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    done: set[tuple[str, int]] = field(default_factory=set)  # (level, no) closed or refused
    cases_rejected: set[str] = field(default_factory=set)  # pushed off by the case camera

    @property
    def cases_closed(self) -> int:
        return len(self.case_pallet)

    @property
    def pallets_closed(self) -> int:
        return len(self.pallets)

    def unscanned(self) -> int:
        """Passed units no station has read yet (still on their way to the case packer)."""
        payloads = self.payloads.items()
        return sum(1 for p, s in payloads if s in self.passed and p not in self.scanned)

    def cases_off_pallet(self) -> int:
        """Closed cases not (yet) on a pallet."""
        return sum(1 for pallet in self.case_pallet.values() if pallet is None)

    def unpacked(self) -> int:
        """Passed units in no case (refused cases, missed scans): loose, for rework."""
        return len(self.passed) - len(self.item_case)

    def scan(self, level: str, container: int, code: str) -> None:
        self.open.setdefault((level, container), []).append(code)
        self.scanned.add(code)

    def close(self, level: str, container: int, count: int, at: datetime) -> list[dict[str, Any]]:
        """Close ``container`` of the ``level`` station: its aggregation rows (the parent's
        SSCC is ``rows[0]['parent_sscc']``), [] for an empty container, or
        :class:`ContainerRefusedError` with the reason."""
        self.done.add((level, container))
        codes = self.open.pop((level, container), [])
        distinct = list(dict.fromkeys(codes))  # one code read twice is one child
        try:
            if count == 0 and not codes:
                return []
            if count != len(distinct):
                raise ContainerRefusedError(
                    f"{count} counted in the {level} but {len(distinct)} scanned"
                )
            size = self._size(level)
            if count > size:
                raise ContainerRefusedError(f"{count} in the {level}, more than {size}")
            children = [self._item(c) if level == "case" else self._case(c) for c in distinct]
        except ContainerRefusedError:
            self.refused[level] += 1
            raise
        return self._link(level, self.new_sscc(level), children, at, count == self._size(level))

    def _size(self, level: str) -> int:
        return self.case_size if level == "case" else self.pallet_size

    def _link(
        self, level: str, parent: str, children: list[str], at: datetime, full: bool
    ) -> list[dict[str, Any]]:
        if level == "case":
            for serial in children:
                self.item_case[serial] = parent
            self.case_pallet[parent] = None
            return [
                link_row(parent, "case", "item", at, full, child_gtin=self.gtin, child_serial=s)
                for s in children
            ]
        for case in children:
            self.case_pallet[case] = parent
        self.pallets.add(parent)
        return [link_row(parent, "pallet", "case", at, full, child_sscc=c) for c in children]

    def _item(self, code: str) -> str:
        serial = self.payloads.get(code)
        if serial is None:
            raise ContainerRefusedError(f"item {_describe(code)} is not a unit of this batch")
        if serial in self.rejected:
            raise ContainerRefusedError(f"item {serial} was rejected ({self.rejected[serial]})")
        if serial not in self.passed:
            raise ContainerRefusedError(f"item {serial} has no camera pass")
        if serial in self.item_case:
            raise ContainerRefusedError(
                f"item {serial} is already packed in case {self.item_case[serial]}"
            )
        return serial

    def _case(self, code: str) -> str:
        sscc = code[2:] if code.startswith("00") and len(code) == 20 else None
        if sscc is not None and sscc in self.cases_rejected:
            raise ContainerRefusedError(f"case {sscc} was rejected by the case camera")
        if sscc is None or sscc not in self.case_pallet:
            raise ContainerRefusedError(
                f"case {_describe(code)} is not a closed case of this batch"
            )
        pallet = self.case_pallet[sscc]
        if pallet is not None:
            raise ContainerRefusedError(f"case {sscc} is already on pallet {pallet}")
        return sscc

    def unpack_rejected_case(self, sscc: str, at: datetime) -> list[dict[str, Any]]:
        """A case the case camera pushed off the line: DELETE rows for its items (loose,
        for rework); the SSCC is retired (no palletizer may take the case)."""
        self.cases_rejected.add(sscc)
        items = sorted(serial for serial, case in self.item_case.items() if case == sscc)
        for serial in items:
            del self.item_case[serial]
        self.case_pallet.pop(sscc, None)
        return [
            link_row(sscc, "case", "item", at, False, child_gtin=self.gtin, child_serial=s)
            | {"action": "DELETE"}
            for s in items
        ]

    def is_duplicate(self, level: str, container: int) -> bool:
        """Whether ``container`` was closed or refused already: a station message about it
        delivered again (stations deliver at least once, across bridge restarts)."""
        return (level, container) in self.done

    def restore(
        self, aggregate: list[dict[str, Any]], station: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Rebuild from the journal (``aggregate`` and ``station`` rows, in order). Returns
        the aggregation rows of containers whose ``closed`` row is journaled but whose
        rows are not (the bridge died between the two writes): the caller journals them."""
        aggregated: set[str] = set()
        for row in aggregate:  # ADD and DELETE (rework) replayed in journal order
            parent, add = row["parent_sscc"], row["action"] == "ADD"
            aggregated.add(parent)
            if row["child_level"] == "item":
                self.case_pallet.setdefault(parent, None)
                if add:
                    self.item_case[row["child_serial"]] = parent
                elif self.item_case.get(row["child_serial"]) == parent:
                    del self.item_case[row["child_serial"]]
            else:
                self.pallets.add(parent)
                if add:
                    self.case_pallet[row["child_sscc"]] = parent
                elif self.case_pallet.get(row["child_sscc"]) == parent:
                    self.case_pallet[row["child_sscc"]] = None
        missing: list[dict[str, Any]] = []
        rejected: dict[str, datetime] = {}
        for row in station:
            level = row["level"]
            if row["event"] == "case_rejected":
                rejected[row["sscc"]] = datetime.fromisoformat(row["recorded_at"])
            if row["event"] == "scan":
                self.scan(level, int(row["container"]), row["code"])
            elif row["event"] in ("closed", "refused"):
                key = (level, int(row["container"]))
                self.done.add(key)
                codes = list(dict.fromkeys(self.open.pop(key, [])))
                if row["event"] == "refused":
                    self.refused[level] += 1
                elif row["sscc"] and row["sscc"] not in aggregated:
                    # checked when it closed; the rows never reached the journal
                    children = [self.payloads[c] if level == "case" else c[2:] for c in codes]
                    at = datetime.fromisoformat(row["recorded_at"])
                    full = int(row["count"]) == self._size(level)
                    missing += self._link(level, row["sscc"], children, at, full)
        for sscc, at in rejected.items():  # DELETE rows not journaled yet: roll forward
            missing += self.unpack_rejected_case(sscc, at)
        return missing


def _describe(code: str) -> str:
    """A scanned code for a message: its HRI when it parses, else the raw text."""
    try:
        return parse(code).element_string.hri
    except ValidationError:
        return repr(code[:60])
