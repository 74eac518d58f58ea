"""Label printers over OPC UA (driver = "opcua", Labeler object of the line's information
model): the bridge labels every case and pallet through ``Labeler.Label`` and reads the
answers from the ``Acks`` ring, bad labels included, against the simulators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from line_bridge.devices.opcua import OpcUaLabelPrinter
from line_bridge.linefile import parse_line_file
from line_bridge.runner import SimulatorOptions, run_simulated_batch
from line_bridge.simulator import FaultRates
from tests.line_bridge.conftest import batch, sscc
from tests.line_bridge.test_stations import _query


def test_label_printers_over_opc_ua(raw_line: Path) -> None:
    devices: dict[str, Any] = {
        kind: {"driver": "jsonl"} for kind in ("printer", "camera", "gate", "case_packer")
    }
    devices |= {
        "palletizer": {"driver": "jsonl"},
        "case_labeler": {"driver": "opcua", "name": "CLB-UA"},
        "pallet_labeler": {"driver": "opcua", "name": "PLB-UA"},
    }
    line = parse_line_file(
        {
            "line": {"id": "LINE-UA", "case_size": 10, "pallet_size": 3, "label_reprints": 6},
            "devices": devices,
        }
    )
    stations = line.station_devices()
    assert stations is not None and isinstance(stations.case_labeler, OpcUaLabelPrinter)
    result = run_simulated_batch(
        line,
        batch(95),
        raw_line,
        sscc(),
        SimulatorOptions(faults=FaultRates(bad_label=0.25), seed=6),
    )
    assert result.passed == 95 and (result.cases, result.pallets) == (10, 4)
    assert result.labels_reprinted > 0

    def q(sql: str) -> list[Any]:
        return _query(raw_line, sql)

    # every case and pallet labelled once, through the OPC UA label printers; each bad
    # label is a row with the verifier's reason
    assert q(
        "select station_id, count(*), count(distinct sscc) from station_s "
        "where event = 'labelled' group by 1 order by 1"
    ) == [("CLB-UA", 10, 10), ("PLB-UA", 4, 4)]
    failed = q("select reason from station_s where event = 'label_failed'")
    assert len(failed) == result.labels_reprinted
    assert all("verification failed" in r for (r,) in failed)
    # the labelled cases reached the palletizer: every case is on a pallet
    assert q("select count(*) from aggregate_s where child_level = 'case'") == [(10,)]
