"""The OPC UA camera and reject gate (line_bridge/devices/opcua.py): the real bridge against
the OPC UA simulators (own processes, loopback), and the adapters in process against a
DeviceServer for what a batch cannot show reliably (coalesced data changes, reconnects)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from line_bridge.bridge import LineHeldError
from line_bridge.devices.base import DeviceEvent, DeviceState, InspectionResult, RejectConfirmation
from line_bridge.devices.opcua import DeviceServer, OpcUaCamera, OpcUaRejectGate
from line_bridge.devices.tcp import DeviceUnreachableError
from line_bridge.runner import SimulatorOptions, run_batch, run_simulated_batch
from line_bridge.simulator import FaultRates
from tests.line_bridge.conftest import batch, line_file, sscc


def _query(raw: Path, sql: str) -> list[Any]:
    con = duckdb.connect()
    for stream in ("print", "inspect", "reject", "aggregate", "line_state"):
        con.execute(
            f"create view {stream}_s as select * from "
            f"read_parquet('{raw}/{stream}/*/*.parquet', hive_partitioning = true)"
        )
    return con.execute(sql).fetchall()


def test_batch_with_opcua_camera_and_gate_accounts_for_every_unit(raw_line: Path) -> None:
    faults = FaultRates(misprint=0.03, unreadable=0.03, low_grade=0.03, camera_timeout=0.02)
    line = line_file(camera="opcua", gate="opcua", decision_budget_ms=300)
    options = SimulatorOptions(faults=faults, seed=5)
    result = run_simulated_batch(line, batch(200), raw_line, sscc(), options)
    assert result.printed == 200 and result.passed + result.rejected == 200
    assert {"wrong_data", "unreadable", "low_grade", "timeout"} <= set(result.reject_causes)
    assert set(result.reject_causes) <= {
        "wrong_data",
        "unreadable",
        "low_grade",
        "timeout",
        "duplicate",
    }

    def q(sql: str) -> list[Any]:
        return _query(raw_line, sql)

    assert q("select count(*), count(distinct serial) from print_s") == [(200, 200)]
    assert q("select count(distinct seq), min(camera_id), max(camera_id) from inspect_s") == [
        (200, "CAM-T", "CAM-T")
    ]
    fails = q("select seq, cause from inspect_s where outcome = 'fail'")
    rejects = q("select seq, cause from reject_s where confirmed and gate_id = 'REJ-T'")
    assert sorted(fails) == sorted(rejects) and len(fails) == result.rejected
    items = q("select child_serial from aggregate_s where child_level = 'item'")
    passed = q("select expected_serial from inspect_s where outcome = 'pass'")
    assert sorted(items) == sorted(passed)
    states = [s for (s,) in q("select to_state from line_state_s order by changed_at")]
    assert states == ["starting", "execute", "completing", "complete"]


def test_unreachable_opcua_endpoint_is_a_clear_error(raw_line: Path) -> None:
    line = line_file(camera="opcua", gate="opcua")
    with pytest.raises(
        LineHeldError, match=r"cannot reach the CAM-T at opc\.tcp://127\.0\.0\.1:1/"
    ):
        run_batch(
            line.with_ports({"printer": 1, "camera": 1, "gate": 1}), batch(5), raw_line, sscc()
        )


def test_unconfirmed_reject_over_opcua_holds_the_line(raw_line: Path) -> None:
    options = SimulatorOptions(
        faults=FaultRates(unreadable=0.2), seed=3, unconfirmed_reject_rate=1.0
    )
    with pytest.raises(LineHeldError, match="not confirmed"):
        run_simulated_batch(line_file(gate="opcua"), batch(300), raw_line, sscc(), options)

    def q(sql: str) -> list[Any]:
        return _query(raw_line, sql)

    assert ("held",) in q("select to_state from line_state_s")
    assert (False,) in q("select confirmed from reject_s")
    commanded = q("select count(*) from print_s")[0][0]
    assert q("select count(*), count(distinct seq) from inspect_s")[0] == (commanded, commanded)


# -- the adapters in process ------------------------------------------------------------------
RESULT = {"decoded": "0100312345678906", "grade": "A", "grade_value": 4.0, "readable": True}


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


class _CountingCamera(OpcUaCamera):
    """Records the counter values the subscription delivered."""

    notified: list[int]

    def _notified(self, client: Any, count: int) -> None:
        self.notified.append(count)
        super()._notified(client, count)


def test_results_coalesced_in_one_data_change_are_all_reported() -> None:
    async def scenario() -> tuple[list[DeviceEvent], list[int]]:
        device = await DeviceServer.start(camera=True, ring_size=32)
        camera = _CountingCamera("CAM-X", "127.0.0.1", device.port, publishing_interval_ms=200)
        camera.notified = []
        events: list[DeviceEvent] = []
        try:
            await camera.start(events.append)
            for trigger in range(1, 21):  # all within one publishing interval
                await device.publish_result({"trigger": trigger, **RESULT})
            await _until(lambda: len(events) == 20)
        finally:
            await camera.close()
            await device.stop()
        return events, camera.notified

    events, notified = asyncio.run(scenario())
    assert [e.trigger for e in events if isinstance(e, InspectionResult)] == list(range(1, 21))
    assert len([n for n in notified if n > 0]) < 20  # the data changes did coalesce
    first = events[0]
    assert first == InspectionResult("CAM-X", 1, "0100312345678906", "A", 4.0, True)


def test_connection_loss_is_reported_and_missed_results_are_caught_up() -> None:
    async def scenario() -> tuple[list[DeviceEvent], list[DeviceEvent], bool]:
        async def confirm(seq: int) -> None:
            await device.publish_confirmation(seq, True)

        device = await DeviceServer.start(camera=True, on_reject=confirm, ring_size=16)
        camera = OpcUaCamera("CAM-X", "127.0.0.1", device.port)
        gate = OpcUaRejectGate("REJ-X", "127.0.0.1", device.port)
        cam_events: list[DeviceEvent] = []
        gate_events: list[DeviceEvent] = []
        try:
            await camera.start(cam_events.append)
            await gate.start(gate_events.append)
            for trigger in (1, 2):
                await device.publish_result({"trigger": trigger, **RESULT})
            assert gate.reject(2)
            await _until(lambda: len(cam_events) == 2 and len(gate_events) == 1)
            device.drop_connections()  # a network fault; the device keeps working
            await _until(lambda: not camera.up and not gate.up)
            refused_while_down = gate.reject(3)
            for trigger in (3, 4, 5):
                await device.publish_result({"trigger": trigger, **RESULT})
            await _until(lambda: len(cam_events) == 7)
            await _until(lambda: gate.up)
            assert gate.reject(3)
            await _until(lambda: len(gate_events) == 4)
        finally:
            await camera.close()
            await gate.close()
            await device.stop()
        return cam_events, gate_events, refused_while_down

    cam_events, gate_events, refused_while_down = asyncio.run(scenario())
    assert not refused_while_down
    kinds = [
        e.trigger if isinstance(e, InspectionResult) else (e.connected, e.reason.split(":")[0])
        for e in cam_events
        if isinstance(e, InspectionResult | DeviceState)
    ]
    assert kinds == [1, 2, (False, "connection lost"), (True, "reconnected"), 3, 4, 5]
    assert gate_events[0] == RejectConfirmation("REJ-X", 2, True)
    assert [type(e) for e in gate_events[1:3]] == [DeviceState, DeviceState]
    assert gate_events[3] == RejectConfirmation("REJ-X", 3, True)


def test_a_server_without_the_gate_object_is_unreachable_as_a_gate() -> None:
    async def scenario() -> None:
        device = await DeviceServer.start(camera=True)
        try:
            gate = OpcUaRejectGate("REJ-X", "127.0.0.1", device.port)
            with pytest.raises(DeviceUnreachableError, match=r"cannot reach the REJ-X.*no Gate"):
                await gate.start(lambda event: None)
        finally:
            await device.stop()

    asyncio.run(scenario())
