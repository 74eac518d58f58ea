"""A TCP link to one device: connect, read lines, reconnect with backoff after a loss."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from line_bridge.devices.base import DeviceState, EventSink

CONNECT_TIMEOUT_S = 5.0


class DeviceUnreachableError(ConnectionError):
    pass


class TcpLink:
    """Owns the socket of one device. ``on_line`` gets every line the device sends."""

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        on_line: Callable[[bytes], None],
        reconnect_delays: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0),
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self._on_line = on_line
        self._delays = reconnect_delays
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._sink: EventSink | None = None
        self._closing = False
        self.connected = asyncio.Event()

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        reader = await self._connect()
        self._task = asyncio.create_task(self._run(reader))

    async def _connect(self) -> asyncio.StreamReader:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT_S
            )
        except (OSError, TimeoutError) as exc:
            raise DeviceUnreachableError(
                f"cannot reach the {self.name} at {self.host}:{self.port}: {exc or 'timeout'}"
            ) from exc
        self._writer = writer
        self.connected.set()
        return reader

    async def _run(self, reader: asyncio.StreamReader) -> None:
        assert self._sink is not None
        while True:
            try:
                while line := await reader.readline():
                    self._on_line(line)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                reason = f"connection lost: {exc}"
            else:
                reason = "device closed the connection"
            self.connected.clear()
            self._writer = None
            if self._closing:
                return
            self._sink(DeviceState(self.name, False, reason))
            reader = await self._reconnect()
            self._sink(DeviceState(self.name, True, "reconnected"))

    async def _reconnect(self) -> asyncio.StreamReader:
        attempt = 0
        while True:
            await asyncio.sleep(self._delays[min(attempt, len(self._delays) - 1)])
            attempt += 1
            with contextlib.suppress(DeviceUnreachableError):
                return await self._connect()

    def send(self, data: bytes) -> bool:
        """Queue bytes for the device; False if the link is down right now."""
        if self._writer is None or self._writer.is_closing():
            return False
        self._writer.write(data)
        return True

    async def drain(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._writer is not None:
            self._writer.close()


class TcpDevice:
    """Base of the TCP device adapters: owns the link, forwards what the device says."""

    def __init__(self, name: str, host: str, port: int) -> None:
        self.name = name
        self.link = TcpLink(name, host, port, self._on_line)
        self._sink: EventSink | None = None

    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        await self.link.start(sink)

    async def close(self) -> None:
        await self.link.close()

    def _on_line(self, line: bytes) -> None:
        raise NotImplementedError
