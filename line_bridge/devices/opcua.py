"""OPC UA adapters (driver = "opcua") for the camera, the reject gate and the SSCC label
printers, with asyncua.

Both sides of a small information model live here: the adapters (OPC UA clients, used
by the bridge) and :class:`DeviceServer` (the device side, used by the simulators and
tests). docs/line-protocol.md, section "OPC UA", describes the model for device vendors.

Namespace ``urn:serialtrace:line``, string node ids::

    Camera                        Object
      Camera.ResultCount          UInt32  results produced since the device started
      Camera.RingSize             UInt32  number of result slots, N
      Camera.Results.<i>          String  result n is in slot (n - 1) % N, one JSON object
                                          {"n", "trigger", "decoded", "grade", "grade_value",
                                           "readable"}
    Gate                          Object
      Gate.Reject(Seq: UInt32)    Method  command a reject; idempotent per Seq
      Gate.ConfirmationCount      UInt32  confirmations produced since the device started
      Gate.RingSize               UInt32
      Gate.Confirmations.<i>      String  {"n", "seq", "confirmed"}
    Labeler                       Object  (a case or pallet label printer)
      Labeler.Label(Level: String, Sscc: String, Payload: String)
                                  Method  print and apply one label; idempotent per Sscc
      Labeler.AckCount            UInt32  answers produced since the device started
      Labeler.RingSize            UInt32
      Labeler.Acks.<i>            String  {"n", "sscc", "ok", "reason", "retry"}

Why a counter and a ring rather than one ``LastResult`` variable: a data-change
subscription reports a variable's *latest* value, so two results in one sampling or
publishing interval coalesce and the first is lost. The adapter subscribes to the counter
only and, on every notification, reads the slots it has not seen yet (one Read for all of
them). A coalesced notification (counter 17 → 19) then still yields results 18 and 19, in
order, and after a reconnect the adapter catches up on what the device produced meanwhile
(as long as the ring has not wrapped; a lost result becomes a decision timeout, fail safe).
The device writes a slot before it increments the counter. ``Server.ServerStatus.
StartTime`` tells the adapter that a device restarted (its counter starts again from 0).

Connection loss (asyncua's connection supervisor or the subscription's status) is reported
as ``DeviceState(connected=False)``; the adapter reconnects with backoff, sets up the
subscription again and reports ``DeviceState(connected=True, "reconnected")``.

asyncua is imported when a device connects, not when the line file is read (it takes about
a second to import).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from line_bridge.devices.base import (
    DeviceState,
    EventSink,
    InspectionResult,
    LabelAck,
    LabelJob,
    RejectConfirmation,
)
from line_bridge.devices.tcp import CONNECT_TIMEOUT_S, DeviceUnreachableError

if TYPE_CHECKING:
    from asyncua.client.client import Client
    from asyncua.common.node import Node
    from asyncua.server.server import Server
    from asyncua.ua import NodeId

log = logging.getLogger(__name__)

NAMESPACE_URI = "urn:serialtrace:line"
DEFAULT_ENDPOINT_PATH = "/serialtrace/line"
RING_SIZE = 256


@dataclass(frozen=True)
class Ring:
    """The node names of one counter + ring pair under a device object."""

    counter: str
    slots: str

    def counter_id(self, obj: str) -> str:
        return f"{obj}.{self.counter}"

    def size_id(self, obj: str) -> str:
        return f"{obj}.RingSize"

    def slot_id(self, obj: str, index: int) -> str:
        return f"{obj}.{self.slots}.{index}"


CAMERA_RING = Ring("ResultCount", "Results")
GATE_RING = Ring("ConfirmationCount", "Confirmations")
LABELER_RING = Ring("AckCount", "Acks")


def _node_id(identifier: str, ns: int) -> NodeId:
    from asyncua import ua

    return ua.NodeId(ua.String(identifier), ua.Int16(ns))


def _endpoint(host: str, port: int, path: str) -> str:
    return f"opc.tcp://{host}:{port}/{path.lstrip('/')}"


class _OpcUaDevice:
    """Connects, follows one counter + ring of the device, reconnects after a loss."""

    ring: ClassVar[Ring]
    default_object: ClassVar[str]

    def __init__(
        self,
        name: str,
        host: str,
        port: int,
        *,
        endpoint_path: str = DEFAULT_ENDPOINT_PATH,
        namespace: str = NAMESPACE_URI,
        object_id: str | None = None,
        publishing_interval_ms: float = 10.0,
        request_timeout_s: float = 2.0,
        reconnect_delays: Sequence[float] = (0.05, 0.1, 0.25, 0.5, 1.0),
    ) -> None:
        self.name = name
        self.url = _endpoint(host, port, endpoint_path)
        self.namespace = namespace
        self.object_id = object_id or self.default_object
        self.publishing_interval_ms = float(publishing_interval_ms)
        self.request_timeout_s = float(request_timeout_s)
        self._delays = tuple(reconnect_delays) or (1.0,)
        self._sink: EventSink | None = None
        self._client: Client | None = None
        self._ns = 0
        self._slots: list[Node] = []
        self._started: datetime | None = None  # the device's Server.ServerStatus.StartTime
        self._seen = 0  # number of the last ring entry handled
        self._latest = 0  # highest counter value notified
        self._lost: str | None = None  # why the current session is gone
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.up = False  # session established and subscription running

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, sink: EventSink) -> None:
        self._sink = sink
        await self._connect(first=True)
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        self._closing = True
        self.up = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._drop_client()

    async def _connect(self, first: bool) -> None:
        from asyncua.client.client import Client
        from asyncua.ua.uaerrors import UaError

        client = Client(self.url, timeout=self.request_timeout_s)
        client.session_timeout = 60_000
        self._client, self._lost = client, None
        self._wake.clear()

        async def lost(exc: Exception) -> None:
            self._mark_lost(client, f"connection lost: {exc!r}")

        client.connection_lost_callback = lost
        try:
            await asyncio.wait_for(self._open(client, first), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, UaError, ValueError) as exc:
            await self._drop_client()
            raise DeviceUnreachableError(
                f"cannot reach the {self.name} at {self.url}: {exc or 'timeout'}"
            ) from exc
        self.up = True

    async def _open(self, client: Client, first: bool) -> None:
        from asyncua import ua
        from asyncua.ua.object_ids import ObjectIds

        await client.connect()
        try:
            self._ns = await client.get_namespace_index(self.namespace)
        except ValueError:
            raise ValueError(f"the server has no namespace {self.namespace}") from None
        obj, ns = self.object_id, self._ns
        counter = client.get_node(_node_id(self.ring.counter_id(obj), ns))
        size = client.get_node(_node_id(self.ring.size_id(obj), ns))
        start_time = client.get_node(ua.NodeId(ua.Int32(ObjectIds.Server_ServerStatus_StartTime)))
        count, ring_size, started = await client.read_values([counter, size, start_time])
        if count is None or not ring_size:
            raise ValueError(f"no {obj} object in namespace {self.namespace}")
        if first:
            self._seen = int(count)  # what the device did before this run is not ours
        elif started != self._started:
            log.warning("%s: the device restarted; reading its results from 1", self.name)
            self._seen = 0
        self._started = started
        self._latest = max(self._seen, int(count))
        self._slots = [
            client.get_node(_node_id(self.ring.slot_id(obj, i), ns)) for i in range(ring_size)
        ]
        interval = self.publishing_interval_ms
        keepalive = max(1, int(1000 / interval))  # a keepalive about once a second
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=interval,
            RequestedLifetimeCount=keepalive * 10,
            RequestedMaxKeepAliveCount=keepalive,
            MaxNotificationsPerPublish=0,
            PublishingEnabled=True,
            Priority=0,
        )
        subscription = await client.create_subscription(params, _Handler(self, client))
        await subscription.subscribe_data_change(
            counter, queuesize=1, sampling_interval=ua.Double(0)
        )

    async def _drop_client(self) -> None:
        from asyncua.client.ua_client import UaClientState

        client, self._client = self._client, None
        if client is None:
            return
        client.connection_lost_callback = None
        never_connected = client.uaclient.state is UaClientState.DISCONNECTED
        if never_connected and not client.uaclient.has_session:
            return  # nothing to close (the connect failed)
        with contextlib.suppress(Exception):  # stops asyncua's tasks of this session
            await asyncio.wait_for(client.disconnect(), 1.0)

    # -- notifications (called by _Handler) -------------------------------------------------
    def _notified(self, client: Client, count: int) -> None:
        if client is self._client and count > self._latest:
            self._latest = count
            self._wake.set()

    def _mark_lost(self, client: Client, reason: str) -> None:
        if client is self._client and self._lost is None:
            self._lost = reason
            self.up = False
            self._wake.set()

    # -- following the ring -----------------------------------------------------------------
    async def _run(self) -> None:
        assert self._sink is not None
        while True:
            reason = await self._follow()
            self.up = False
            if self._closing:
                return
            self._sink(DeviceState(self.name, False, reason))
            await self._drop_client()
            await self._reconnect()
            self._sink(DeviceState(self.name, True, "reconnected"))
            self._reconnected()

    async def _follow(self) -> str:
        """Hand every new ring entry to the sink until the session is lost; say why."""
        from asyncua.ua.uaerrors import UaError

        client = self._client
        assert client is not None
        while True:
            if self._lost is not None:
                return self._lost
            if self._latest > self._seen:
                try:
                    await self._catch_up(client)
                except (OSError, TimeoutError, UaError) as exc:
                    return f"connection lost: {exc!r}"
                except Exception as exc:  # a bug here must not silence the device
                    log.exception("%s: reading the ring failed", self.name)
                    return f"adapter error: {exc!r}"
                continue
            self._wake.clear()
            await self._wake.wait()

    async def _catch_up(self, client: Client) -> None:
        first, last, size = self._seen + 1, self._latest, len(self._slots)
        if last - first >= size:
            log.warning(
                "%s: results %d..%d were overwritten before they could be read",
                self.name,
                first,
                last - size,
            )
            first = last - size + 1
        numbers = range(first, last + 1)
        values = await client.read_values([self._slots[(n - 1) % size] for n in numbers])
        for n, raw in zip(numbers, values, strict=True):
            self._seen = n
            try:
                entry = json.loads(raw)
                if entry["n"] != n:
                    log.warning("%s: entry %d was overwritten before it was read", self.name, n)
                    continue
                self._emit(entry)
            except (TypeError, KeyError, ValueError) as exc:
                log.error("%s: unusable ring entry %d %r: %s", self.name, n, raw, exc)

    async def _reconnect(self) -> None:
        attempt = 0
        while True:
            await asyncio.sleep(self._delays[min(attempt, len(self._delays) - 1)])
            attempt += 1
            with contextlib.suppress(DeviceUnreachableError):
                await self._connect(first=False)
                return

    def _emit(self, entry: dict[str, Any]) -> None:
        raise NotImplementedError

    def _reconnected(self) -> None:
        """Called after a reconnect has been reported."""


class _Handler:
    """asyncua subscription handler: forwards counter changes and status changes."""

    def __init__(self, device: _OpcUaDevice, client: Client) -> None:
        self.device, self.client = device, client

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        if isinstance(val, int):
            self.device._notified(self.client, val)

    def status_change_notification(self, status: Any) -> None:
        self.device._mark_lost(self.client, f"subscription status {status.Status}")


# status codes meaning "the session or connection went away", not "the gate refused"
_SESSION_GONE = (
    "BadCommunicationError",
    "BadConnectionClosed",
    "BadNotConnected",
    "BadSecureChannelClosed",
    "BadServerHalted",
    "BadServerNotConnected",
    "BadSessionClosed",
    "BadSessionIdInvalid",
    "BadShutdown",
    "BadTimeout",
)


class OpcUaCamera(_OpcUaDevice):
    """driver = "opcua" for a camera."""

    ring = CAMERA_RING
    default_object = "Camera"

    def _emit(self, entry: dict[str, Any]) -> None:
        assert self._sink is not None
        grade_value = entry.get("grade_value")
        grade = entry.get("grade")
        decoded = entry.get("decoded")
        self._sink(
            InspectionResult(
                device=self.name,
                trigger=int(entry["trigger"]),
                decoded=None if decoded is None else str(decoded),
                grade=None if grade is None else str(grade),
                grade_value=None if grade_value is None else float(grade_value),
                readable=bool(entry.get("readable")),
            )
        )


class _CommandingDevice(_OpcUaDevice):
    """A device the bridge commands through an OPC UA method: each command is a method
    call in its own task; one cut off by a connection loss is called again after the
    reconnect (the device's method is idempotent, so a call that did arrive does no harm);
    one the device refuses with a bad status is reported through ``_refused``."""

    def __init__(self, name: str, host: str, port: int, **options: Any) -> None:
        super().__init__(name, host, port, **options)
        self._calls: set[asyncio.Task[None]] = set()
        self._retry: list[tuple[str, tuple[Any, ...], str]] = []  # cut off by a loss

    def _command(self, method: str, arguments: tuple[Any, ...], what: str) -> bool:
        """Call ``<object>.<method>(*arguments)`` (UA Variants); False if the link is down."""
        client = self._client
        if not self.up or client is None:
            return False
        task = asyncio.create_task(self._call(client, method, arguments, what))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)
        return True

    async def _call(
        self, client: Client, method: str, arguments: tuple[Any, ...], what: str
    ) -> None:
        from asyncua.ua.status_codes import StatusCodes
        from asyncua.ua.uaerrors import UaError, UaStatusCodeError

        obj = self.object_id
        node = client.get_node(_node_id(obj, self._ns))
        try:
            await node.call_method(_node_id(f"{obj}.{method}", self._ns), *arguments)
            return
        except UaStatusCodeError as exc:
            gone = {getattr(StatusCodes, name, None) for name in _SESSION_GONE}
            if exc.code not in gone:  # the device refused the command
                log.error("%s refused %s: %s", self.name, what, exc)
                if self._sink is not None and client is self._client:
                    self._refused(arguments, str(exc))
                return
            error: Exception = exc
        except (OSError, TimeoutError, UaError) as exc:
            error = exc
        log.warning("%s: %s interrupted: %r", self.name, what, error)
        if self.up and self._client is not client:  # reconnected meanwhile: call again now
            self._command(method, arguments, what)
        else:
            self._retry.append((method, arguments, what))

    def _refused(self, arguments: tuple[Any, ...], reason: str) -> None:
        raise NotImplementedError

    def _reconnected(self) -> None:
        retry, self._retry = self._retry, []
        for method, arguments, what in retry:
            if not self._command(method, arguments, what):
                self._retry.append((method, arguments, what))

    async def close(self) -> None:
        for task in list(self._calls):
            task.cancel()
        await super().close()


class OpcUaRejectGate(_CommandingDevice):
    """driver = "opcua" for a reject gate: ``reject(seq)`` calls ``Gate.Reject(seq)``."""

    ring = GATE_RING
    default_object = "Gate"

    def reject(self, seq: int) -> bool:
        from asyncua import ua

        return self._command(
            "Reject", (ua.Variant(seq, ua.VariantType.UInt32),), f"the reject of unit {seq}"
        )

    def _refused(self, arguments: tuple[Any, ...], reason: str) -> None:
        assert self._sink is not None  # the unit is not out: an unconfirmed reject
        self._sink(RejectConfirmation(self.name, int(arguments[0].Value), False))

    def _emit(self, entry: dict[str, Any]) -> None:
        assert self._sink is not None
        self._sink(RejectConfirmation(self.name, int(entry["seq"]), bool(entry["confirmed"])))


class OpcUaLabelPrinter(_CommandingDevice):
    """driver = "opcua" for a case or pallet label printer: ``label(job)`` calls
    ``Labeler.Label(Level, Sscc, Payload)``; answers come through the ``Acks`` ring."""

    ring = LABELER_RING
    default_object = "Labeler"

    def label(self, job: LabelJob) -> bool:
        from asyncua import ua

        text = ua.VariantType.String
        arguments = (
            ua.Variant(job.level, text),
            ua.Variant(job.sscc, text),
            ua.Variant(job.payload, text),
        )
        return self._command("Label", arguments, f"the label {job.sscc}")

    def _refused(self, arguments: tuple[Any, ...], reason: str) -> None:
        assert self._sink is not None
        self._sink(LabelAck(self.name, str(arguments[1].Value), False, reason))

    def _emit(self, entry: dict[str, Any]) -> None:
        assert self._sink is not None
        ok = bool(entry.get("ok"))
        reason = None if ok else str(entry.get("reason", entry))
        retry = not ok and bool(entry.get("retry"))
        self._sink(LabelAck(self.name, str(entry["sscc"]), ok, reason, retry))


# -- the device side ------------------------------------------------------------------------
RejectHandler = Callable[[int], Awaitable[None]]
LabelHandler = Callable[[str, str, str], Awaitable[None]]  # level, SSCC, payload


class RingWriter:
    """Device side of one counter + ring: write the slot, then increment the counter."""

    def __init__(self, server: Server, obj: str, ns: int, ring: Ring, size: int) -> None:
        self.server, self.size, self.count = server, size, 0
        self._counter = _node_id(ring.counter_id(obj), ns)
        self._slots = [_node_id(ring.slot_id(obj, i), ns) for i in range(size)]

    async def append(self, entry: dict[str, Any]) -> int:
        from asyncua import ua

        self.count += 1
        text = json.dumps({"n": self.count, **entry}, separators=(",", ":"))
        slot = self._slots[(self.count - 1) % self.size]
        await self.server.write_attribute_value(
            slot, ua.DataValue(ua.Variant(text, ua.VariantType.String))
        )
        await self.server.write_attribute_value(
            self._counter, ua.DataValue(ua.Variant(self.count, ua.VariantType.UInt32))
        )
        return self.count


class DeviceServer:
    """An OPC UA server exposing a Camera and/or a Gate object of the model (simulators)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.results: RingWriter | None = None
        self.confirmations: RingWriter | None = None
        self.label_acks: RingWriter | None = None

    @classmethod
    async def start(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        camera: bool = False,
        on_reject: RejectHandler | None = None,
        on_label: LabelHandler | None = None,
        ring_size: int = RING_SIZE,
        endpoint_path: str = DEFAULT_ENDPOINT_PATH,
        namespace: str = NAMESPACE_URI,
    ) -> DeviceServer:
        """Serve the Camera object if ``camera``, the Gate object if ``on_reject`` is given
        (called with the seq of every new ``Gate.Reject`` call), the Labeler object if
        ``on_label`` is given (called with every ``Labeler.Label`` call; the label printer
        itself is idempotent per SSCC)."""
        from asyncua import ua
        from asyncua.server.server import Server
        from asyncua.ua.object_ids import ObjectIds

        server = Server()
        await server.init()
        server.set_endpoint(_endpoint(host, port, endpoint_path))
        server.set_server_name("Serialtrace line device (simulated)")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        server.disable_clock()  # no ServerStatus.CurrentTime updates: stop() returns at once
        ns = await server.register_namespace(namespace)
        device = cls(server)
        if camera:
            await device._add_object("Camera", ns, CAMERA_RING, ring_size)
            device.results = RingWriter(server, "Camera", ns, CAMERA_RING, ring_size)
        if on_reject is not None:
            gate = await device._add_object("Gate", ns, GATE_RING, ring_size)
            device.confirmations = RingWriter(server, "Gate", ns, GATE_RING, ring_size)
            accepted: set[int] = set()

            async def reject(parent: Any, seq: Any) -> list[Any]:
                value = int(seq.Value)
                if value not in accepted:  # idempotent: a repeated call is no new reject
                    accepted.add(value)
                    await on_reject(value)
                return []

            argument = ua.Argument(
                Name="Seq",
                DataType=ua.NodeId(ua.Int32(ObjectIds.UInt32)),
                ValueRank=-1,
                Description=ua.LocalizedText("the unit's position on the line"),
            )
            await gate.add_method(
                _node_id("Gate.Reject", ns), ua.QualifiedName("Reject", ns), reject, [argument], []
            )
        if on_label is not None:
            labeler = await device._add_object("Labeler", ns, LABELER_RING, ring_size)
            device.label_acks = RingWriter(server, "Labeler", ns, LABELER_RING, ring_size)

            async def label(parent: Any, level: Any, sscc: Any, payload: Any) -> list[Any]:
                await on_label(str(level.Value), str(sscc.Value), str(payload.Value))
                return []

            arguments = [
                ua.Argument(
                    Name=name,
                    DataType=ua.NodeId(ua.Int32(ObjectIds.String)),
                    ValueRank=-1,
                    Description=ua.LocalizedText(text),
                )
                for name, text in (
                    ("Level", "case or pallet"),
                    ("Sscc", "the SSCC-18 of the container"),
                    ("Payload", "the element string of the label's barcode, 00<SSCC>"),
                )
            ]
            await labeler.add_method(
                _node_id("Labeler.Label", ns), ua.QualifiedName("Label", ns), label, arguments, []
            )
        await server.start()
        return device

    async def _add_object(self, obj: str, ns: int, ring: Ring, size: int) -> Node:
        from asyncua import ua

        node = await self.server.nodes.objects.add_object(
            _node_id(obj, ns), ua.QualifiedName(obj, ns)
        )
        await node.add_variable(
            _node_id(ring.counter_id(obj), ns),
            ua.QualifiedName(ring.counter, ns),
            ua.Variant(0, ua.VariantType.UInt32),
        )
        await node.add_variable(
            _node_id(ring.size_id(obj), ns),
            ua.QualifiedName("RingSize", ns),
            ua.Variant(size, ua.VariantType.UInt32),
        )
        folder = await node.add_folder(
            _node_id(f"{obj}.{ring.slots}", ns), ua.QualifiedName(ring.slots, ns)
        )
        for i in range(size):
            await folder.add_variable(
                _node_id(ring.slot_id(obj, i), ns),
                ua.QualifiedName(str(i), ns),
                ua.Variant("", ua.VariantType.String),
            )
        return node

    @property
    def port(self) -> int:
        assert self.server.bserver is not None
        return int(self.server.bserver.port)

    async def publish_result(self, result: dict[str, Any]) -> None:
        assert self.results is not None
        await self.results.append({k: v for k, v in result.items() if k != "type"})

    async def publish_confirmation(self, seq: int, confirmed: bool) -> None:
        assert self.confirmations is not None
        await self.confirmations.append({"seq": seq, "confirmed": confirmed})

    async def publish_label_ack(self, entry: dict[str, Any]) -> None:
        assert self.label_acks is not None
        await self.label_acks.append(
            {k: entry.get(k) for k in ("sscc", "reason")}
            | {"ok": entry.get("type") == "ack", "retry": bool(entry.get("retry"))}
        )

    def drop_connections(self) -> None:
        """Close every client connection (the server keeps listening): a network fault."""
        for transport in list(self.server.iserver.asyncio_transports):
            transport.close()

    async def stop(self) -> None:
        await self.server.stop()
