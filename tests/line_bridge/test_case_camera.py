"""The second inspection point: a case camera after the case labeler reads each case's
SSCC label; results are stored against the SSCC (`case_inspect`), and a case that fails
is pushed off the line and unpacked (its items loose for rework)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from line_bridge.decision import decide_case
from line_bridge.linefile import LineFile, parse_line_file
from line_bridge.runner import SimulatorOptions, run_simulated_batch
from line_bridge.simulator import FaultRates
from line_bridge.stations import StationPacking
from serialtrace.errors import ValidationError
from tests.line_bridge.conftest import GTIN, batch, sscc
from tests.line_bridge.test_stations import _query

SSCC = "003123450000000017"
AT = datetime(2026, 11, 25, 8, tzinfo=UTC)


def camera_line() -> LineFile:
    kinds = ("printer", "camera", "gate", "case_packer", "case_labeler", "palletizer")
    devices: dict[str, Any] = {kind: {"driver": "jsonl"} for kind in kinds}
    devices |= {"pallet_labeler": {"driver": "jsonl"}, "case_camera": {"name": "CCAM-T"}}
    return parse_line_file(
        {
            "line": {"id": "LINE-C", "case_size": 10, "pallet_size": 4, "label_reprints": 6},
            "devices": devices,
        }
    )


def test_decide_case() -> None:
    assert decide_case(SSCC, f"00{SSCC}", True, 3.0, 1.5) is None
    assert decide_case(SSCC, None, False, 0.0, 1.5) == "unreadable"
    assert decide_case(SSCC, "00003123450000000024", True, 4.0, 1.5) == "wrong_data"
    assert decide_case(SSCC, f"00{SSCC}", True, 1.0, 1.5) == "low_grade"


def test_a_case_camera_needs_the_stations() -> None:
    with pytest.raises(ValidationError, match="case camera needs the aggregation stations"):
        parse_line_file(
            {
                "line": {"id": "L"},
                "devices": {"printer": {}, "camera": {}, "gate": {}, "case_camera": {}},
            }
        )
    stations = camera_line().station_devices()
    assert stations is not None and stations.case_camera is not None


def test_restore_rolls_forward_the_unpacking_of_a_rejected_case() -> None:
    numbers = count(1)
    packing = StationPacking(GTIN, 2, 2, lambda level: f"{next(numbers):018d}")
    packing.payloads.update({"c1": "S1", "c2": "S2"})
    aggregate = [
        {"parent_sscc": SSCC, "child_level": "item", "child_serial": s, "action": "ADD"}
        for s in ("S1", "S2")
    ]
    station: list[dict[str, Any]] = [
        {"event": "case_rejected", "level": "case", "sscc": SSCC, "recorded_at": AT.isoformat()}
    ]
    missing = packing.restore(aggregate, station)  # died before the DELETE rows
    assert [(r["action"], r["child_serial"]) for r in missing] == [
        ("DELETE", "S1"),
        ("DELETE", "S2"),
    ]
    assert packing.item_case == {} and SSCC not in packing.case_pallet
    assert packing.cases_rejected == {SSCC}


def test_case_camera_rejects_and_unpacks_failed_cases(raw_line: Path) -> None:
    faults = FaultRates(case_unreadable=0.1, case_low_grade=0.1, case_wrong_label=0.05)
    result = run_simulated_batch(
        camera_line(), batch(200), raw_line, sscc(), SimulatorOptions(faults=faults, seed=5)
    )
    assert result.passed == 200 and result.cases_rejected > 0

    def q(sql: str) -> list[Any]:
        return _query(raw_line, sql)

    # every labelled case was inspected once, stored against its SSCC
    inspected = q("select count(*), count(distinct sscc) from case_inspect_s")[0]
    labelled = q("select count(*) from station_s where event = 'labelled' and level = 'case'")[0][0]
    assert inspected == (labelled, labelled) == (result.cases_inspected,) * 2
    assert q(
        "select count(*) from case_inspect_s where sscc not in "
        "(select sscc from station_s where event = 'closed' and level = 'case')"
    ) == [(0,)]
    causes = dict(q("select cause, count(*) from case_inspect_s where outcome = 'fail' group by 1"))
    assert set(causes) <= {"unreadable", "low_grade", "wrong_data", "timeout"}
    assert sum(causes.values()) == result.cases_rejected
    # each failed case was pushed off (confirmed) and unpacked: its items loose, and no
    # pallet holds it
    assert q(
        "select count(*) from case_inspect_s i join station_s s on s.sscc = i.sscc "
        "and s.event = 'case_rejected' where i.outcome = 'fail'"
    ) == [(result.cases_rejected,)]
    current = """
        select * from (select *, row_number() over (partition by parent_sscc,
            coalesce(child_serial, child_sscc) order by aggregated_at desc) as rn
            from aggregate_s) where rn = 1 and action = 'ADD'
    """
    assert q(
        f"select count(*) from ({current}) c join case_inspect_s i "
        "on i.sscc in (c.parent_sscc, c.child_sscc) where i.outcome = 'fail'"
    ) == [(0,)]
    deleted = q("select count(*) from aggregate_s where action = 'DELETE'")[0][0]
    assert deleted > 0 and result.unpacked >= deleted
    assert q("select count(*) from reject_s") == [(0,)]  # no item was rejected
    states = [s for (s,) in q("select to_state from line_state_s order by changed_at")]
    assert states[-1] == "complete"
