"""Device simulators for a packaging line: printer, camera and reject gate.

They run in their own process (``python -m line_bridge.simulator``), each device on its
own loopback TCP port, and speak the line protocol (line_bridge/protocol.py) exactly as
a real device adapter would. A simulated conveyor carries what the printer printed to the
camera, which reports what it reads, so the bridge under test cannot cheat: it only
learns what the devices tell it. Faults are drawn per unit at the configured rate:
misprint (the code printed differs from the one commanded), unreadable code, low grade.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
from dataclasses import dataclass
from pathlib import Path

from line_bridge.protocol import encode, read_message

GRADES = {"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0, "F": 0.0}


@dataclass(frozen=True)
class SimulatorSettings:
    fault_rate: float = 0.01
    seed: int | None = None
    unconfirmed_reject_rate: float = 0.0  # gate answers "not confirmed" (jammed gate)
    host: str = "127.0.0.1"


@dataclass
class _Pack:
    trigger: int
    printed: str
    fault: str | None


class LineSimulator:
    """Printer, camera and reject gate sharing one simulated conveyor."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self._rng = random.Random(settings.seed)
        self._conveyor: asyncio.Queue[_Pack] = asyncio.Queue()
        self._triggers = 0
        self.ports: dict[str, int] = {}
        self._servers: list[asyncio.Server] = []

    def _draw_fault(self) -> str | None:
        r = self._rng.random()
        third = self.settings.fault_rate / 3
        if r < third:
            return "misprint"
        if r < 2 * third:
            return "unreadable"
        if r < 3 * third:
            return "low_grade"
        return None

    def _misprint(self, payload: str) -> str:
        # a smeared digit in the last field: the code still decodes, to other data
        position = len(payload) - 1 - self._rng.randrange(min(4, len(payload)))
        wrong = "7" if payload[position] != "7" else "3"
        return payload[:position] + wrong + payload[position + 1 :]

    async def _printer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (message := await read_message(reader)) is not None:
            if message.get("cmd") != "print":
                writer.write(encode({"type": "nak", "reason": "unknown command"}))
                continue
            payload = str(message["payload"])
            fault = self._draw_fault()
            printed = self._misprint(payload) if fault == "misprint" else payload
            self._triggers += 1
            writer.write(encode({"type": "ack", "cmd": "print", "seq": message["seq"]}))
            await writer.drain()
            self._conveyor.put_nowait(_Pack(self._triggers, printed, fault))
        writer.close()

    async def _camera(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        closed = asyncio.ensure_future(reader.read())
        try:
            while True:
                getter = asyncio.ensure_future(self._conveyor.get())
                done, _ = await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                pack = getter.result()
                writer.write(encode(self._inspect(pack)))
                await writer.drain()
        finally:
            writer.close()

    def _inspect(self, pack: _Pack) -> dict[str, object]:
        if pack.fault == "unreadable":
            return {
                "type": "inspect",
                "trigger": pack.trigger,
                "decoded": None,
                "grade": "F",
                "grade_value": 0.0,
                "readable": False,
            }
        grade = self._rng.choice("DF") if pack.fault == "low_grade" else self._rng.choice("AAAABBC")
        return {
            "type": "inspect",
            "trigger": pack.trigger,
            "decoded": pack.printed,
            "grade": grade,
            "grade_value": GRADES[grade],
            "readable": True,
        }

    async def _gate(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (message := await read_message(reader)) is not None:
            if message.get("cmd") == "reject":
                confirmed = self._rng.random() >= self.settings.unconfirmed_reject_rate
                reply = {
                    "type": "ack",
                    "cmd": "reject",
                    "seq": message["seq"],
                    "confirmed": confirmed,
                }
                writer.write(encode(reply))
            else:
                writer.write(encode({"type": "nak", "reason": "unknown command"}))
            await writer.drain()
        writer.close()

    async def start(self, ports: dict[str, int] | None = None) -> dict[str, int]:
        wanted = ports or {}
        handlers = {"printer": self._printer, "camera": self._camera, "gate": self._gate}
        for name, handler in handlers.items():
            server = await asyncio.start_server(handler, self.settings.host, wanted.get(name, 0))
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]
        return dict(self.ports)

    async def close(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()


async def _serve(args: argparse.Namespace) -> None:
    simulator = LineSimulator(
        SimulatorSettings(
            fault_rate=args.fault_rate,
            seed=args.seed,
            unconfirmed_reject_rate=args.unconfirmed_reject_rate,
        )
    )
    ports = await simulator.start()
    if args.ready_file:
        tmp = Path(args.ready_file).with_suffix(".tmp")
        tmp.write_text(json.dumps(ports))
        tmp.replace(args.ready_file)
    else:
        print(json.dumps(ports), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await simulator.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Packaging-line device simulators (loopback)")
    parser.add_argument("--fault-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--unconfirmed-reject-rate", type=float, default=0.0)
    parser.add_argument("--ready-file", help="write the chosen ports here as JSON")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
