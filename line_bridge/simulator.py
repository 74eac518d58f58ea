"""Device simulators of a packaging line, one process per device, on loopback TCP.

    python -m line_bridge.simulator camera  --port 0 --conveyor-port 0 --ready-file F ...
    python -m line_bridge.simulator printer --port 0 --conveyor 127.0.0.1:PORT --dialect jsonl ...
    python -m line_bridge.simulator gate    --port 0 ...
    python -m line_bridge.simulator case_packer|palletizer --port 0 --conveyor-port 0 --size N
    python -m line_bridge.simulator labeler --port 0 [--downstream 127.0.0.1:PORT]

Camera and gate speak the JSON-lines protocol, or OPC UA with ``--protocol opcua`` (the
information model of line_bridge/devices/opcua.py; the camera still gets its packs over
the conveyor link).

They speak the same wire protocols as real devices (line_bridge/protocol.py,
line_bridge/devices/textcmd.py), so the bridge under test runs its production adapters.
A simulated conveyor (its own TCP link from the printer process to the camera process)
carries each printed pack to the camera, which reports only what it reads: the bridge
cannot learn anything the devices do not tell it. With ``--symbols`` the printer renders
a real GS1 DataMatrix (zxing-cpp) and the camera decodes the image.

Faults are drawn per unit at configurable rates: misprint (the printed code differs from
the commanded one), unreadable code, low grade, duplicate read (the camera reads the
previous pack's code again), camera timeout (no result), and device disconnects.

A line with aggregation stations extends the conveyor: the camera passes every pack on to
the gate (``--downstream``), which holds it for the travel time to the reject position
(``--travel-ms``) and then kicks it into the reject bin if a reject was commanded for it
(confirmed), or passes it on to the case packer (a reject commanded after the pack passed
is answered "not confirmed"). The case packer scans what reaches it into cases and closes
each case at ``--size``; the case labeler passes every labelled case on to the palletizer,
which scans the labels onto pallets. Station faults: ``missing_scan`` (a code not read),
``duplicate_scan`` (a code reported twice), and at the gate ``reinserted_reject`` (a
rejected pack, confirmed in the bin, put back on the line by hand: it reaches the case
packer).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import random
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from line_bridge.devices.opcua import DeviceServer
from line_bridge.devices.textcmd import parse_job
from line_bridge.protocol import ProtocolError, decode, encode

GRADES = {"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0, "F": 0.0}
FAULTS = (
    "misprint",
    "unreadable",
    "low_grade",
    "duplicate_read",
    "camera_timeout",
    "missing_scan",
    "duplicate_scan",
    "reinserted_reject",
    "bad_label",
    "labeler_down",
    "case_unreadable",
    "case_low_grade",
    "case_wrong_label",
)


@dataclass(frozen=True)
class FaultRates:
    misprint: float = 0.0
    unreadable: float = 0.0
    low_grade: float = 0.0
    duplicate_read: float = 0.0
    camera_timeout: float = 0.0
    missing_scan: float = 0.0  # aggregation stations
    duplicate_scan: float = 0.0
    reinserted_reject: float = 0.0  # gate, with stations
    bad_label: float = 0.0  # label printers: the verifier cannot read the printed label
    labeler_down: float = 0.0  # label printers: down (head open, out of labels) for a while
    case_unreadable: float = 0.0  # case camera: the case label cannot be read
    case_low_grade: float = 0.0  # case camera: the case label reads at grade D or F
    case_wrong_label: float = 0.0  # case camera: the case carries another case's label

    @classmethod
    def spread(cls, total: float) -> FaultRates:
        """The demo's mix: ``total`` split evenly over misprint, unreadable, low grade."""
        return cls(misprint=total / 3, unreadable=total / 3, low_grade=total / 3)

    @classmethod
    def parse(cls, text: str) -> FaultRates:
        """``misprint=0.01,camera_timeout=0.002`` → FaultRates."""
        values: dict[str, float] = {}
        for item in filter(None, text.split(",")):
            name, _, rate = item.partition("=")
            if name not in FAULTS:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
            values[name] = float(rate)
        return cls(**values)

    def as_arg(self) -> str:
        return ",".join(f"{k}={getattr(self, k)}" for k in FAULTS if getattr(self, k))


def _render(payload: str) -> dict[str, Any]:
    """Render the GS1 DataMatrix of ``payload`` (pixels, base64) as the printer would."""
    import numpy as np
    import zxingcpp

    from serialtrace.gs1.element_string import parse

    hri = parse(payload).element_string.hri
    symbol = zxingcpp.create_barcode(hri, zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
    pixels = np.asarray(zxingcpp.write_barcode_to_image(symbol, scale=3))
    return {"shape": list(pixels.shape), "pixels": base64.b64encode(pixels.tobytes()).decode()}


def _decode_image(image: dict[str, Any], damage: bool) -> str | None:
    """What a camera decodes from the printed symbol (None: nothing readable)."""
    import numpy as np
    import zxingcpp

    pixels = np.frombuffer(base64.b64decode(image["pixels"]), dtype=np.uint8).reshape(
        image["shape"]
    )
    if damage:  # smudged code: a third of the symbol unreadable
        pixels = pixels.copy()
        h = pixels.shape[0]
        pixels[h // 3 : 2 * h // 3, :] = 255
    found = zxingcpp.read_barcode(pixels)
    if found is None or not found.valid:
        return None
    return found.bytes.decode("latin-1")


class _Device:
    """One simulated device: a TCP server for the bridge, faults from a seeded RNG."""

    def __init__(self, rates: FaultRates, seed: int | None, disconnect_after: int) -> None:
        self.rates = rates
        self.rng = random.Random(seed)
        self.disconnect_after = disconnect_after  # drop the bridge's connection once, then
        self.handled = 0  # accept it again (0 = never)
        self._dropped = False

    def _should_drop(self) -> bool:
        if self.disconnect_after and not self._dropped and self.handled >= self.disconnect_after:
            self._dropped = True
            return True
        return False

    def hit(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate


class PrinterSim(_Device):
    def __init__(
        self,
        rates: FaultRates,
        seed: int | None,
        disconnect_after: int,
        dialect: str,
        conveyor: tuple[str, int],
        symbols: bool,
        rate_per_min: float,
    ) -> None:
        super().__init__(rates, seed, disconnect_after)
        self.dialect = dialect
        self.conveyor_address = conveyor
        self.symbols = symbols
        self.interval = 60.0 / rate_per_min if rate_per_min else 0.0
        self.trigger = 0
        self._conveyor: asyncio.StreamWriter | None = None

    async def connect_conveyor(self) -> None:
        _, self._conveyor = await asyncio.open_connection(*self.conveyor_address)

    def _misprint(self, payload: str) -> str:
        position = len(payload) - 1 - self.rng.randrange(min(4, len(payload)))
        wrong = "7" if payload[position] != "7" else "3"
        return payload[:position] + wrong + payload[position + 1 :]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):  # the bridge went away (or was killed)
            await self._handle(reader, writer)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._conveyor is not None
        while line := await reader.readline():
            try:
                seq, payload = self._job(line)
            except (ProtocolError, KeyError, ValueError) as exc:
                writer.write(self._answer(-1, str(exc)))
                continue
            if self.interval:
                await asyncio.sleep(self.interval)
            printed = self._misprint(payload) if self.hit(self.rates.misprint) else payload
            self.trigger += 1
            # the line controller tags each pack with its job number (shift-register tracking)
            pack: dict[str, Any] = {"trigger": seq, "printed": printed}
            if self.symbols:
                pack["image"] = _render(printed)
            writer.write(self._answer(seq, None))
            self._conveyor.write(encode(pack))
            await writer.drain()
            await self._conveyor.drain()
            self.handled += 1
            if self._should_drop():
                break
        writer.close()

    def _job(self, line: bytes) -> tuple[int, str]:
        if self.dialect == "textcmd":
            seq, payload, _ = parse_job(line)
            return seq, payload
        message = decode(line)
        if message.get("cmd") != "print":
            raise ProtocolError("unknown command")
        return int(message["seq"]), str(message["payload"])

    def _answer(self, seq: int, error: str | None) -> bytes:
        if self.dialect == "textcmd":
            return (f"OK\t{seq}\r\n" if error is None else f"ERR\t{seq}\t{error}\r\n").encode()
        if error is None:
            return encode({"type": "ack", "cmd": "print", "seq": seq})
        return encode({"type": "nak", "seq": seq, "reason": error})


async def _open_downstream(address: str) -> asyncio.StreamWriter | None:
    """The conveyor link to the next device (``HOST:PORT``), or None."""
    if not address:
        return None
    host, _, port = address.rpartition(":")
    _, writer = await asyncio.open_connection(host, int(port))
    return writer


class CameraSim(_Device):
    def __init__(self, rates: FaultRates, seed: int | None, disconnect_after: int) -> None:
        super().__init__(rates, seed, disconnect_after)
        self.packs: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._previous: str | None = None
        self.downstream: asyncio.StreamWriter | None = None  # to the gate (stations)

    async def inspect_to(self, device: DeviceServer) -> None:
        """OPC UA: inspect every pack, append its result to the device's result ring."""
        while True:
            result = self.inspect(await self.packs.get())
            if result is not None:
                await device.publish_result(result)
            self.handled += 1
            if self._should_drop():
                device.drop_connections()

    async def conveyor(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            pack = json.loads(line)
            self.packs.put_nowait(pack)
            if self.downstream is not None:  # the pack moves on towards the gate
                moving = {"trigger": pack["trigger"], "printed": pack["printed"]}
                self.downstream.write(encode(moving))
                await self.downstream.drain()
        writer.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        closed = asyncio.ensure_future(reader.read())
        try:
            while True:
                getter = asyncio.ensure_future(self.packs.get())
                done, _ = await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    return
                result = self.inspect(getter.result())
                if result is not None:
                    writer.write(encode(result))
                    await writer.drain()
                self.handled += 1
                if self._should_drop():
                    return
        except ConnectionError:
            return  # the bridge went away (or was killed): wait for it to come back
        finally:
            if closed.done() and not closed.cancelled():
                closed.exception()  # retrieved: a reset connection is expected here
            closed.cancel()
            writer.close()

    def inspect(self, pack: dict[str, Any]) -> dict[str, Any] | None:
        if self.hit(self.rates.camera_timeout):
            return None  # the camera missed the trigger: no result at all
        unreadable = self.hit(self.rates.unreadable)
        if "image" in pack:
            decoded = _decode_image(pack["image"], damage=unreadable)
        else:
            decoded = None if unreadable else str(pack["printed"])
        if decoded is not None and self._previous and self.hit(self.rates.duplicate_read):
            decoded = self._previous  # read the previous pack's code again
        elif decoded is not None:
            self._previous = decoded
        if decoded is None:
            grade = "F"
        elif self.hit(self.rates.low_grade):
            grade = self.rng.choice("DF")
        else:
            grade = self.rng.choice("AAAABBC")
        return {
            "type": "inspect",
            "trigger": pack["trigger"],
            "decoded": decoded,
            "grade": grade,
            "grade_value": GRADES[grade],
            "readable": decoded is not None,
        }


class GateSim(_Device):
    def __init__(
        self,
        rates: FaultRates,
        seed: int | None,
        disconnect_after: int,
        unconfirmed_rate: float,
        travel_ms: float = 0.0,
    ) -> None:
        super().__init__(rates, seed, disconnect_after)
        self.unconfirmed_rate = unconfirmed_rate
        self.opcua: DeviceServer | None = None
        self.travel = travel_ms / 1000  # camera → reject position
        self.downstream: asyncio.StreamWriter | None = None  # to the case packer (stations)
        self._commanded: dict[int, asyncio.Future[bool]] = {}  # reject commanded, not arrived
        self._passed: set[int] = set()  # packs already past the reject position
        self._tasks: set[asyncio.Task[None]] = set()

    async def rejected(self, seq: int) -> bool:
        """Whether the reject of ``seq`` is confirmed: at once without a conveyor; with one,
        when the pack reaches the reject position (false if it passed already)."""
        if self.downstream is None:
            return not self.hit(self.unconfirmed_rate)
        if seq in self._passed:
            return False  # too late: the pack is on its way to the case packer
        future = self._commanded.setdefault(seq, asyncio.get_running_loop().create_future())
        return await future

    async def conveyor(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while line := await reader.readline():
            pack = json.loads(line)
            loop.call_later(self.travel, self._at_reject_position, pack)
        writer.close()

    def _at_reject_position(self, pack: dict[str, Any]) -> None:
        assert self.downstream is not None
        seq = int(pack["trigger"])
        future = self._commanded.pop(seq, None)
        if future is not None:  # kicked into the reject bin
            if not future.done():
                future.set_result(not self.hit(self.unconfirmed_rate))
            if not self.hit(self.rates.reinserted_reject):
                return  # else: put back on the line by hand, it goes on to the packer
        else:
            self._passed.add(seq)
        self.downstream.write(encode(pack))

    async def reject_opcua(self, seq: int) -> None:
        """OPC UA: a Gate.Reject(seq) call; the confirmation goes to the confirmation ring."""
        assert self.opcua is not None
        if self.downstream is None:
            await self._confirm_opcua(seq)
        else:  # the call returns at once; the confirmation follows when the pack arrives
            task = asyncio.create_task(self._confirm_opcua(seq))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _confirm_opcua(self, seq: int) -> None:
        assert self.opcua is not None
        await self.opcua.publish_confirmation(seq, await self.rejected(seq))
        self.handled += 1
        if self._should_drop():
            self.opcua.drop_connections()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):  # the bridge went away (or was killed)
            await self._handle(reader, writer)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            message = decode(line)
            if message.get("cmd") == "reject":
                if self.downstream is None:
                    await self._answer(writer, int(message["seq"]))
                else:  # confirmed when the pack reaches the reject position
                    task = asyncio.create_task(self._answer(writer, int(message["seq"])))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            else:
                writer.write(encode({"type": "nak", "reason": "unknown command"}))
                await writer.drain()
            self.handled += 1
            if self._should_drop():
                break
        writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, seq: int) -> None:
        confirmed = await self.rejected(seq)
        with contextlib.suppress(ConnectionError):
            answer = {"type": "ack", "cmd": "reject", "seq": seq, "confirmed": confirmed}
            writer.write(encode(answer))
            await writer.drain()


class _Outbox:
    """Messages of a device that reports on its own (stations, label printers): sent in
    order to whichever bridge is connected, kept while none is. Delivery is at least
    once: a message whose send failed is kept, though the killed bridge may have read it."""

    def __init__(self) -> None:
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue()

    def _emit(self, message: dict[str, Any]) -> None:
        self.outbox.put_nowait(encode(message))

    async def _send(self, writer: asyncio.StreamWriter) -> None:
        while True:
            data = await self.outbox.get()
            try:
                writer.write(data)
                await writer.drain()
            except ConnectionError:
                self.outbox.put_nowait(data)  # kept for the next bridge (order may change)
                return


class StationSim(_Device, _Outbox):
    """A case packer or palletizer: scans what the conveyor brings into containers of
    ``size``; events are stored and forwarded to whichever bridge is connected."""

    def __init__(self, rates: FaultRates, seed: int | None, size: int) -> None:
        _Device.__init__(self, rates, seed, 0)
        _Outbox.__init__(self)
        self.size = size
        self.container = 1
        self.children: list[str] = []
        self.closed: set[int] = set()  # closed, not diverted

    async def conveyor(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            pack = json.loads(line)
            self.pack(str(pack.get("code") or pack["printed"]))
        writer.close()

    def pack(self, code: str) -> None:
        self.children.append(code)
        if not self.hit(self.rates.missing_scan):
            reads = 2 if self.hit(self.rates.duplicate_scan) else 1
            for _ in range(reads):
                self._emit({"type": "scan", "container": self.container, "code": code})
        if len(self.children) >= self.size:
            self.close(batch_end=False)

    def close(self, batch_end: bool) -> None:
        message: dict[str, Any] = {
            "type": "closed",
            "container": self.container,
            "count": len(self.children),
        }
        if batch_end:
            message["batch_end"] = True
        self._emit(message)
        self.closed.add(self.container)
        self.container += 1
        self.children = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender = asyncio.create_task(self._send(writer))
        try:
            while line := await reader.readline():
                message = decode(line)
                if message.get("cmd") == "close":
                    await asyncio.sleep(0.05)  # what is on the conveyor's last metre arrives
                    self.close(batch_end=True)
                elif message.get("cmd") == "divert":
                    container = int(message["container"])
                    self.closed.discard(container)
                    self._emit({"type": "ack", "cmd": "divert", "container": container})
                else:
                    self._emit({"type": "nak", "reason": "unknown command"})
        except ConnectionError:
            pass  # the bridge went away (or was killed): wait for it to come back
        finally:
            sender.cancel()
            writer.close()


class LabelerSim(_Device, _Outbox):
    """Prints SSCC labels and applies them; passes each labelled container on
    (``--downstream``). A label command is idempotent per SSCC: one already printed is
    acknowledged again (``"duplicate": true``) and nothing is printed. Faults:
    ``bad_label`` (the printer's verifier cannot read the label: a ``nak`` with
    ``"retry": true``, the label voided, the container waits for a new one) and
    ``labeler_down`` (the printer goes down with the label in hand, unprinted: it drops
    the connection and answers nothing for ``down_s``)."""

    def __init__(self, rates: FaultRates, seed: int | None, down_s: float = 0.3) -> None:
        _Device.__init__(self, rates, seed, 0)
        _Outbox.__init__(self)
        self.downstream: asyncio.StreamWriter | None = None
        self.printed: set[str] = set()
        self.opcua_device: DeviceServer | None = None
        self.down_s = down_s
        self._down_until = 0.0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        if (down := self._down_until - loop.time()) > 0:
            await asyncio.sleep(down)  # still down: the bridge's commands wait in the socket
        sender = asyncio.create_task(self._send(writer))
        try:
            while line := await reader.readline():
                message = decode(line)
                if message.get("cmd") != "label":
                    self._emit({"type": "nak", "reason": "unknown command"})
                    continue
                if await self._label(message):
                    self._down_until = loop.time() + self.down_s
                    break
        except ConnectionError:
            pass  # the bridge went away (or was killed): wait for it to come back
        finally:
            sender.cancel()
            writer.close()

    async def opcua(self, level: str, sscc: str, payload: str) -> None:
        """OPC UA: a Labeler.Label call; the answer goes to the device's Acks ring."""
        if await self._label({"level": level, "sscc": sscc, "payload": payload}):
            assert self.opcua_device is not None  # down: the connection is dropped
            self.opcua_device.drop_connections()

    async def publish_to(self, device: DeviceServer) -> None:
        """OPC UA: the answers, in order, into the Acks ring (kept while nobody reads)."""
        while True:
            await device.publish_label_ack(json.loads(await self.outbox.get()))

    async def _label(self, message: dict[str, Any]) -> bool:
        """Print one label; True when the printer went down instead."""
        sscc = str(message["sscc"])
        if sscc in self.printed:
            self._emit({"type": "ack", "cmd": "label", "sscc": sscc, "duplicate": True})
            return False
        if self.hit(self.rates.labeler_down):
            return True
        if self.hit(self.rates.bad_label):
            reason = "label verification failed: barcode unreadable; label voided"
            nak = {"type": "nak", "cmd": "label", "sscc": sscc, "reason": reason, "retry": True}
            self._emit(nak)
            return False
        self.printed.add(sscc)
        if self.downstream is not None:  # the labelled case moves on
            self.downstream.write(encode({"code": message["payload"], "sscc": sscc}))
            await self.downstream.drain()
        self._emit({"type": "ack", "cmd": "label", "sscc": sscc})
        return False


class CaseCameraSim(_Device, _Outbox):
    """The case camera after the case labeler: reads each labelled case's label (tracked
    by the SSCC the labeler applied), reports it, and holds the case for ``travel_s``
    before passing it on to the palletizer; a case whose reject was commanded by then is
    pushed off (confirmed), a reject commanded later is "not confirmed". ``reject`` is
    idempotent per SSCC."""

    def __init__(self, rates: FaultRates, seed: int | None, travel_s: float) -> None:
        _Device.__init__(self, rates, seed, 0)
        _Outbox.__init__(self)
        self.travel = travel_s
        self.downstream: asyncio.StreamWriter | None = None
        self._commanded: set[str] = set()
        self._fate: dict[str, bool] = {}  # SSCC → pushed off (True) or passed on (False)
        self._previous: str | None = None

    async def conveyor(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while line := await reader.readline():
            case = json.loads(line)
            self._emit(self.inspect(case))
            loop.call_later(self.travel, self._at_reject_arm, case)
        writer.close()

    def inspect(self, case: dict[str, Any]) -> dict[str, Any]:
        sscc, decoded = str(case["sscc"]), str(case["code"])
        grade = self.rng.choice("AAAABBC")
        if self.hit(self.rates.case_wrong_label) and self._previous:
            decoded = self._previous  # a label meant for the previous case
        elif self.hit(self.rates.case_unreadable):
            decoded, grade = "", "F"
        elif self.hit(self.rates.case_low_grade):
            grade = self.rng.choice("DF")
        self._previous = str(case["code"])
        return {
            "type": "case_inspect",
            "sscc": sscc,
            "decoded": decoded or None,
            "grade": grade,
            "grade_value": GRADES[grade],
            "readable": bool(decoded),
        }

    def _at_reject_arm(self, case: dict[str, Any]) -> None:
        sscc = str(case["sscc"])
        pushed = sscc in self._commanded
        self._fate[sscc] = pushed
        if pushed:
            self._confirm(sscc)
        elif self.downstream is not None:
            self.downstream.write(encode({"code": case["code"]}))

    def _confirm(self, sscc: str) -> None:
        confirmed = self._fate[sscc]
        self._emit({"type": "ack", "cmd": "reject", "sscc": sscc, "confirmed": confirmed})

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender = asyncio.create_task(self._send(writer))
        try:
            while line := await reader.readline():
                message = decode(line)
                if message.get("cmd") != "reject":
                    self._emit({"type": "nak", "reason": "unknown command"})
                    continue
                sscc = str(message["sscc"])
                self._commanded.add(sscc)
                if sscc in self._fate:  # at the arm already: pushed off, or gone on
                    self._confirm(sscc)
        except ConnectionError:
            pass  # the bridge went away (or was killed): wait for it to come back
        finally:
            sender.cancel()
            writer.close()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


async def _serve(args: argparse.Namespace) -> None:
    rates = FaultRates.parse(args.faults)
    ports: dict[str, int] = {}
    servers: list[asyncio.Server] = []
    opcua: list[DeviceServer] = []  # with --protocol opcua
    tasks: list[asyncio.Task[None]] = []
    if args.protocol == "opcua":
        logging.getLogger("asyncua").setLevel(logging.ERROR)

    async def listen(name: str, handler: Handler, port: int) -> None:
        server = await asyncio.start_server(handler, "127.0.0.1", port)
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]

    if args.device == "camera":
        camera = CameraSim(rates, args.seed, args.disconnect_after)
        camera.downstream = await _open_downstream(args.downstream)
        if args.symbols:  # load the decoder before the first pack arrives
            _decode_image(_render("0100312345678906211"), damage=False)
        await listen("conveyor", camera.conveyor, args.conveyor_port)
        if args.protocol == "opcua":
            opcua.append(await DeviceServer.start("127.0.0.1", args.port, camera=True))
            tasks.append(asyncio.create_task(camera.inspect_to(opcua[-1])))
            ports["camera"] = opcua[-1].port
        else:
            await listen("camera", camera.handle, args.port)
    elif args.device == "printer":
        host, _, port = args.conveyor.rpartition(":")
        printer = PrinterSim(
            rates,
            args.seed,
            args.disconnect_after,
            args.dialect,
            (host, int(port)),
            args.symbols,
            args.rate,
        )
        if args.symbols:  # load the renderer before the first print command
            _render("0100312345678906211")
        await printer.connect_conveyor()
        await listen("printer", printer.handle, args.port)
    elif args.device in ("case_packer", "palletizer"):
        station = StationSim(rates, args.seed, args.size)
        await listen("conveyor", station.conveyor, args.conveyor_port)
        await listen(args.device, station.handle, args.port)
    elif args.device == "case_camera":
        case_camera = CaseCameraSim(rates, args.seed, args.travel_ms / 1000)
        case_camera.downstream = await _open_downstream(args.downstream)
        await listen("conveyor", case_camera.conveyor, args.conveyor_port)
        await listen("case_camera", case_camera.handle, args.port)
    elif args.device == "labeler":
        labeler = LabelerSim(rates, args.seed, args.down_ms / 1000)
        labeler.downstream = await _open_downstream(args.downstream)
        if args.protocol == "opcua":
            opcua.append(await DeviceServer.start("127.0.0.1", args.port, on_label=labeler.opcua))
            labeler.opcua_device = opcua[-1]
            tasks.append(asyncio.create_task(labeler.publish_to(opcua[-1])))
            ports["labeler"] = opcua[-1].port
        else:
            await listen("labeler", labeler.handle, args.port)
    else:
        gate = GateSim(
            rates, args.seed, args.disconnect_after, args.unconfirmed_reject_rate, args.travel_ms
        )
        gate.downstream = await _open_downstream(args.downstream)
        if gate.downstream is not None:
            await listen("conveyor", gate.conveyor, args.conveyor_port)
        if args.protocol == "opcua":
            gate.opcua = await DeviceServer.start(
                "127.0.0.1", args.port, on_reject=gate.reject_opcua
            )
            opcua.append(gate.opcua)
            ports["gate"] = gate.opcua.port
        else:
            await listen("gate", gate.handle, args.port)
    text = json.dumps(ports)
    if args.ready_file:
        tmp = Path(args.ready_file).with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(args.ready_file)
    else:
        print(text, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()
    for task in tasks:
        task.cancel()
    for device in opcua:
        await device.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Packaging-line device simulator (loopback)")
    parser.add_argument(
        "device",
        choices=[
            "printer",
            "camera",
            "gate",
            "case_packer",
            "palletizer",
            "labeler",
            "case_camera",
        ],
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--conveyor-port", type=int, default=0, help="camera, gate, stations: conveyor input"
    )
    parser.add_argument(
        "--conveyor", default="", help="printer: HOST:PORT of the camera's conveyor"
    )
    parser.add_argument("--dialect", choices=["jsonl", "textcmd"], default="jsonl")
    parser.add_argument(
        "--protocol",
        choices=["jsonl", "opcua"],
        default="jsonl",
        help="camera, gate, labeler: protocol",
    )
    parser.add_argument("--faults", default="", help="e.g. misprint=0.003,camera_timeout=0.001")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--rate", type=float, default=0.0, help="printer: units/min (0 = max)")
    parser.add_argument("--symbols", action="store_true", help="render and decode DataMatrix")
    parser.add_argument("--disconnect-after", type=int, default=0)
    parser.add_argument("--unconfirmed-reject-rate", type=float, default=0.0)
    parser.add_argument("--ready-file", help="write the chosen ports here as JSON")
    parser.add_argument(
        "--downstream", default="", help="camera, gate, labeler: HOST:PORT of the next conveyor"
    )
    parser.add_argument(
        "--travel-ms", type=float, default=0.0, help="gate, case camera: time to the reject arm"
    )
    parser.add_argument("--size", type=int, default=20, help="station: children per container")
    parser.add_argument(
        "--down-ms", type=float, default=300.0, help="labeler: how long labeler_down lasts"
    )
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
