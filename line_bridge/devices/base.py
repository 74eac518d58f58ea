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


DeviceEvent = PrintAck | InspectionResult | RejectConfirmation | DeviceState
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
