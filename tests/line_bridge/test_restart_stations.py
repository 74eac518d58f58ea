"""Restart of a line with stations: the journal's station rows are the send intents, a
container closed by a killed run is rolled forward, and device messages delivered again
(stations and label printers deliver at least once) change nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from line_bridge.bridge import LineBridge
from line_bridge.devices.base import LabelAck, StationClosed, StationDiverted, StationScan
from line_bridge.journal import LineJournal
from line_bridge.stations import StationPacking
from serialtrace.gs1.element_string import encode_unit
from tests.line_bridge.conftest import GTIN, batch, sscc
from tests.line_bridge.test_stations import station_line

AT = datetime(2026, 11, 25, 8, tzinfo=UTC)
CASE = "003123450000000017"


def _station(event: str, level: str, container: int | None, **values: Any) -> dict[str, Any]:
    return {
        "station_id": "CPK-T",
        "level": level,
        "container": container,
        "event": event,
        "code": values.get("code"),
        "count": values.get("count"),
        "sscc": values.get("sscc"),
        "reason": values.get("reason"),
        "recorded_at": AT.isoformat(),
    }


def test_restore_rolls_forward_a_closed_container_whose_links_are_missing() -> None:
    packing = StationPacking(GTIN, 3, 2, sscc())
    packing.payloads.update({"c1": "S1", "c2": "S2", "c3": "S3"})
    station = [
        _station("scan", "case", 1, code="c1"),
        _station("scan", "case", 1, code="c2"),
        _station("scan", "case", 1, code="c2"),
        _station("closed", "case", 1, count=2, sscc=CASE),  # killed before the links
        _station("scan", "case", 2, code="c3"),  # still open
    ]
    missing = packing.restore([], station)
    assert [(r["parent_sscc"], r["child_serial"], r["parent_full"]) for r in missing] == [
        (CASE, "S1", False),
        (CASE, "S2", False),
    ]
    assert packing.item_case == {"S1": CASE, "S2": CASE} and packing.case_pallet == {CASE: None}
    assert packing.open == {("case", 2): ["c3"]}
    assert packing.is_duplicate("case", 1) and not packing.is_duplicate("case", 2)
    # with the links journaled, nothing is rebuilt
    again = StationPacking(GTIN, 3, 2, sscc())
    again.payloads.update(packing.payloads)
    assert again.restore(missing, station) == [] and again.item_case == packing.item_case


def _killed_run(raw_line: Path) -> str:
    """The journal a killed run leaves: unit 1 printed and passed, scanned into case 1,
    case 1 closed as CASE (its label sent, never acknowledged); returns unit 1's code."""
    b = batch(3)
    code = encode_unit(GTIN, b.serials[0], b.lot, "281031").payload
    journal = LineJournal(raw_line, b.work_order_id, "LINE-S")
    journal.write(
        "print_command",
        {"seq": 1, "serial": b.serials[0], "payload": code, "hri": "", "commanded_at": AT},
    )
    journal.write(
        "print",
        {
            "seq": 1,
            "printer_id": "PRN-T",
            "gtin": GTIN,
            "serial": b.serials[0],
            "lot": b.lot,
            "expiry": "281031",
            "payload": code,
            "hri": "",
            "commanded_at": AT,
            "acknowledged_at": AT,
        },
    )
    journal.write(
        "inspect",
        {
            "seq": 1,
            "camera_id": "CAM-T",
            "gtin": GTIN,
            "expected_serial": b.serials[0],
            "decoded_payload": code,
            "decoded_serial": b.serials[0],
            "grade": "A",
            "grade_value": 4.0,
            "readable": True,
            "outcome": "pass",
            "cause": None,
            "inspected_at": AT,
            "decision_latency_us": 10,
        },
    )
    journal.write("station", _station("scan", "case", 1, code=code))
    journal.write("station", _station("closed", "case", 1, count=1, sscc=CASE))
    journal.close()
    return code


def test_restart_matches_acks_of_the_killed_run_and_ignores_messages_delivered_again(
    raw_line: Path,
) -> None:
    code = _killed_run(raw_line)
    line = station_line()
    printer, camera, gate = line.devices()
    journal = LineJournal(raw_line, "WO-T", "LINE-S")
    bridge = LineBridge(
        line.line, printer, camera, gate, journal, sscc(), stations=line.station_devices()
    )
    b = batch(3)
    bridge._batch = b
    bridge.packing = StationPacking(GTIN, 10, 4, sscc())
    remaining = bridge._restart_bookkeeping(b)
    assert [seq for seq, _ in remaining] == [2, 3]
    # the label of CASE (closed, never acknowledged) is pending again; its links, lost
    # with the kill, are journaled again
    assert set(bridge._labels) == {CASE}
    links = list(journal.history("aggregate"))
    assert [(x["parent_sscc"], x["child_serial"]) for x in links] == [(CASE, b.serials[0])]
    # the killed run's ack, kept by the printer, then the ack of the label sent again
    labeler = bridge.stations.case_labeler.name if bridge.stations else ""
    bridge._on_event(LabelAck(labeler, CASE, True))
    bridge._on_event(LabelAck(labeler, CASE, True))
    # the case packer delivers its last messages about case 1 again
    packer = bridge.stations.case_packer.name if bridge.stations else ""
    bridge._on_event(StationScan(packer, 1, code))
    bridge._on_event(StationClosed(packer, 1, 1))
    assert bridge.state == "idle" and bridge._failure is None
    assert bridge.result.duplicate_messages == 3
    labelled = [x for x in journal.history("station") if x["event"] == "labelled"]
    assert [x["sscc"] for x in labelled] == [CASE]
    assert len(list(journal.history("aggregate"))) == 1
    # a divert confirmed twice is no news either; one for a container never refused is
    bridge._diverts[("case", 5)] = 1.0
    bridge._on_event(StationDiverted(packer, 5))
    bridge._on_event(StationDiverted(packer, 5))
    assert bridge._failure is None and bridge.result.duplicate_messages == 4
    # an ack for a label no run of this batch ever sent still holds the line
    bridge._on_event(LabelAck(labeler, "003123450000000093", True))
    assert bridge.state == "held"
    assert bridge._failure is not None and "never sent" in str(bridge._failure)
    journal.close()


def test_a_bad_label_is_printed_again_then_holds(raw_line: Path) -> None:
    line = station_line()
    printer, camera, gate = line.devices()
    journal = LineJournal(raw_line, "WO-T", "LINE-S")
    bridge = LineBridge(
        line.line, printer, camera, gate, journal, sscc(), stations=line.station_devices()
    )
    bridge._batch = batch(1)
    labeler = bridge.stations.case_labeler.name if bridge.stations else ""
    bridge._labels[CASE] = ("case", 1.0)
    bad = LabelAck(labeler, CASE, False, "label verification failed", retry=True)
    bridge._on_event(bad)  # reprinted (the labeler is not connected: queued for it)
    bridge._on_event(bad)
    assert bridge._failure is None and bridge.result.labels_reprinted == 2
    assert len(bridge._unsent[labeler]) == 2
    bridge._on_event(bad)  # out of reprints
    assert bridge._failure is not None and "not printed" in str(bridge._failure)
    failed = [x for x in journal.history("station") if x["event"] == "label_failed"]
    assert len(failed) == 3 and failed[0]["reason"] == "label verification failed"
    journal.close()
