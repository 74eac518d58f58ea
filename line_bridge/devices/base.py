"""The interfaces between the bridge and its devices.

An adapter turns one vendor's wire protocol into these events and commands; the bridge
only ever sees this module's types. Adding a vendor is adding an adapter file and
naming its ``driver`` in the line file (line_bridge/linefile.py).

Every adapter reports what its device says through an :class:`EventSink` (called in the
event loop, in the order the device said it) and reports losing or regaining its
connection as :class:`DeviceState` events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PrintJob:
    seq: int
    serial: str
    payload: str  # GS1 element string, GS = ASCII 29, without the leading FNC1
    hri: tuple[str, ...]  # human-readable lines in artwork order


@dataclass(frozen=True, slots=True)
class PrintAck:
    device: str
    seq: int
    ok: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class InspectionResult:
    device: str
    trigger: int  # the unit's position on the line as counted by the camera
    decoded: str | None  # data decoded from the symbol, None if nothing could be read
    grade: str | None  # ISO/IEC 15415 overall grade A-F
    grade_value: float | None  # 4.0 (A) .. 0.0 (F)
    readable: bool


@dataclass(frozen=True, slots=True)
class RejectConfirmation:
    device: str
    seq: int
    confirmed: bool


@dataclass(frozen=True, slots=True)
class DeviceState:
    device: str
    connected: bool
    reason: str


@dataclass(frozen=True, slots=True)
class LabelJob:
    """An SSCC label for a closed case or pallet."""

    level: str  # 'case' | 'pallet'
    sscc: str  # SSCC-18
    payload: str  # GS1 element string of the label's barcode: 00<SSCC>
    hri: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LabelAck:
    device: str
    sscc: str
    ok: bool
    reason: str | None = None
    retry: bool = False  # not ok, but the label may be printed again (bad label voided)


@dataclass(frozen=True, slots=True)
class StationScan:
    """An aggregation station read ``code`` into the container it is filling (a case at
    the case packer: an item's element string; a pallet at the palletizer: ``00<SSCC>``
    of a case label). ``container`` is the station's own count of its containers."""

    device: str
    container: int
    code: str


@dataclass(frozen=True, slots=True)
class StationClosed:
    """The station closed ``container`` (full, or on the bridge's close command at batch
    end) holding ``count`` children by its own mechanical count."""

    device: str
    container: int
    count: int
    batch_end: bool = False  # the answer to the bridge's close command


@dataclass(frozen=True, slots=True)
class StationDiverted:
    """The station took ``container`` off the line (after a divert command)."""

    device: str
    container: int


@dataclass(frozen=True, slots=True)
class CaseInspection:
    """The case camera's reading of a labelled case's SSCC label. ``sscc`` is the case the
    line controller tracked to the camera (the label it applied), ``decoded`` what the
    camera read from the label (None: nothing)."""

    device: str
    sscc: str
    decoded: str | None
    grade: str | None
    grade_value: float | None
    readable: bool


@dataclass(frozen=True, slots=True)
class CaseRejectConfirmation:
    device: str
    sscc: str
    confirmed: bool  # the case was pushed off the line before the palletizer


DeviceEvent = (
    PrintAck
    | CaseInspection
    | CaseRejectConfirmation
    | InspectionResult
    | RejectConfirmation
    | DeviceState
    | LabelAck
    | StationScan
    | StationClosed
    | StationDiverted
)
EventSink = Callable[[DeviceEvent], None]


class Device(Protocol):
    name: str

    async def start(self, sink: EventSink) -> None:
        """Connect (or fail with LineHeldError naming the device) and start reporting."""

    async def close(self) -> None: ...


class Printer(Device, Protocol):
    def print(self, job: PrintJob) -> bool:
        """Send one print command (False: link down); the device answers with a PrintAck."""


class Camera(Device, Protocol):
    """Reports one InspectionResult per trigger; takes no commands."""


class RejectGate(Device, Protocol):
    def reject(self, seq: int) -> bool:
        """Command a reject (False: link down); the device answers with a confirmation."""


class LabelPrinter(Device, Protocol):
    """Prints SSCC labels (case labels, pallet labels); answers each with a LabelAck."""

    def label(self, job: LabelJob) -> bool:
        """Send one label (False: link down)."""


class AggregationStation(Device, Protocol):
    """A case packer (children: items) or palletizer (children: cases). Reports
    StationScan for every code it reads into the open container and StationClosed when
    the container is closed; takes two commands."""

    def close_partial(self) -> bool:
        """Batch end: close the open container now, however full (StationClosed follows,
        with count 0 when it is empty)."""

    def divert(self, container: int, reason: str) -> bool:
        """Take ``container`` off the line for rework (StationDiverted follows)."""


class CaseCamera(Device, Protocol):
    """A second inspection point after the case labeler: reports one CaseInspection per
    labelled case, and pushes a case off the line on command (its reject arm)."""

    def reject(self, sscc: str) -> bool:
        """Command the reject of case ``sscc`` (False: link down); a confirmation follows."""
