from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from alerts.locks import QuarantineLocks, container_key, item_key
from alerts.model import AlertType, Subject, parse_identifier
from alerts.service import raise_all
from alerts.sources import fmd_alerts, line_anomalies, manual_alert, partner_reports
from ingest.schemas import ALLOCATION_SCHEMA
from line_bridge.schemas import INSPECT_SCHEMA
from serialtrace.errors import ValidationError
from serialtrace.io.parquet import rows_to_table, write_atomic
from serialtrace.settings import Home
from tests.alerts.conftest import CASES, GTIN, PALLET, Clock

REPORT = {
    "report_id": "RPT-77",
    "reporter_gln": "9506000000015",
    "reporter_name": "Good Pharmacy",
    "reported_at": "2026-11-25T07:30:00Z",
    "reason": "label misprint, lot unknown",
    "items": [
        {"gtin": GTIN, "serial": "S00", "lot": "LOT1", "expiry": "280229"},
        {"sscc": CASES[1]},
    ],
}


def test_partner_report_json_and_csv(home: Home, tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "reports.json"
    path.write_text(json.dumps({"reports": [REPORT]}))
    alerts = partner_reports(path)
    assert [a.source_ref for a in alerts] == ["RPT-77"]
    assert alerts[0].subjects[0].expiry == date(2028, 2, 29)
    ((case, new),) = raise_all(home, alerts, clock=clock)
    assert new and case.alert_type == "partner_report" and case.severity == "critical"
    locks = QuarantineLocks(home.alerts_db)
    assert locks.case_for(item_key(GTIN, "S11")) == case.case_id  # inside the reported case
    assert locks.case_for(item_key(GTIN, "S01")) is None
    assert [n for _, n in raise_all(home, partner_reports(path), clock=clock)] == [False]

    csv_path = tmp_path / "reports.csv"
    csv_path.write_text(
        "report_id,reporter_gln,reported_at,reason,gtin,serial,lot,expiry,sscc\n"
        f"R2,9506000000015,2026-11-25T07:00:00+00:00,photo mismatch,{GTIN},S01,LOT1,,\n"
        f"R2,9506000000015,2026-11-25T07:00:00+00:00,photo mismatch,,,,,{PALLET}\n"
    )
    (alert,) = partner_reports(csv_path)
    assert [s.key for s in alert.subjects] == [item_key(GTIN, "S01"), container_key(PALLET)]


def test_partner_report_errors_name_record_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{**REPORT, "reported_at": "2026-11-25T07:30:00"}]))
    with pytest.raises(ValidationError, match="record 1: reported_at: must carry a UTC offset"):
        partner_reports(path)
    path.write_text(json.dumps([{**REPORT, "items": [{"gtin": "123", "serial": "X"}]}]))
    with pytest.raises(ValidationError, match="record 1 item 1: gtin: GTIN must be 14 digits"):
        partner_reports(path)
    path.write_text("{not json")
    with pytest.raises(ValidationError, match="not JSON"):
        partner_reports(path)
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text(
        "report_id,reporter_gln,reported_at,reason,gtin,serial\n"
        "R1,9506000000015,2026-11-25T07:00:00Z,x,,S1\n"
    )
    with pytest.raises(ValidationError, match=r"bad\.csv line 2: gtin: is required"):
        partner_reports(csv_path)


def test_fmd_alerts(home: Home, tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "nmvs.csv"
    path.write_text(
        "alert_id,market,return_code,raised_at,product_code,serial,batch,expiry,location\n"
        f"DE-A-1,DE,NMVS_NC_PC_02,2026-11-25T06:00:00Z,{GTIN},NOPE9,LOT1,280229,Apotheke X\n"
        f"DE-A-2,de,NMVS_FE_LOT_13,2026-11-25T06:05:00Z,{GTIN},S10,LOTZ,280229,\n"
    )
    alerts = fmd_alerts(path)
    assert [a.alert_type for a in alerts] == [AlertType.FMD_ALERT] * 2
    assert "unknown serial number" in alerts[0].title and alerts[1].detail["market"] == "DE"
    results = raise_all(home, alerts, clock=clock)
    assert all(new for _, new in results) and results[0][0].market == "EU"
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            [
                {
                    "alert_id": "X",
                    "market": "DE",
                    "return_code": "NMVS_XX",
                    "raised_at": "2026-11-25T06:00:00Z",
                    "product_code": GTIN,
                    "serial": "1",
                }
            ]
        )
    )
    with pytest.raises(ValidationError, match="return_code: unknown NMVS code"):
        fmd_alerts(bad)


def _inspect(seq: int, expected: str, decoded: str | None, cause: str | None) -> dict[str, object]:
    return {
        "work_order_id": "WO-1",
        "line_id": "LINE-1",
        "seq": seq,
        "camera_id": "CAM-1",
        "gtin": GTIN,
        "expected_serial": expected,
        "decoded_payload": decoded,
        "decoded_serial": decoded,
        "grade": "A",
        "grade_value": 4.0,
        "readable": True,
        "outcome": "pass" if cause is None else "fail",
        "cause": cause,
        "inspected_at": datetime(2026, 11, 25, 7, 0, seq, tzinfo=UTC),
        "decision_latency_us": 100,
    }


def test_line_anomalies_read_twice_and_never_issued(home: Home, clock: Clock) -> None:
    assert line_anomalies(home.raw_line, home.raw_serials) == []
    write_atomic(
        home.raw_serials / "allocations" / "work_order=WO-1" / "part-00000.parquet",
        rows_to_table(
            [
                {
                    "pool_id": "P",
                    "work_order_id": "WO-1",
                    "gtin": GTIN,
                    "lot": "LOT1",
                    "expiry": date(2028, 2, 29),
                    "serial": s,
                    "allocated_at": datetime(2026, 11, 25, tzinfo=UTC),
                }
                for s in ("S00", "S01")
            ],
            ALLOCATION_SCHEMA,
        ),
    )
    write_atomic(
        home.raw_line / "inspect" / "work_order=WO-1" / "part-00000.parquet",
        rows_to_table(
            [
                _inspect(1, "S00", "S00", None),
                _inspect(2, "S01", "S00", "duplicate"),  # S00 read again
                _inspect(3, "S01", "ZZZ", "wrong_data"),  # a serial we never issued
                _inspect(4, "S01", "ZZZ", "wrong_data"),  # the same anomaly again
                _inspect(5, "S01", None, "unreadable"),
            ],
            INSPECT_SCHEMA,
        ),
    )
    alerts = line_anomalies(home.raw_line, home.raw_serials)
    assert [(a.detail["kind"], a.subjects[0].serial) for a in alerts] == [
        ("read_twice", "S00"),
        ("never_issued", "ZZZ"),
    ]
    results = raise_all(home, alerts, clock=clock)
    assert [c.severity for c, _ in results] == ["medium", "high"]
    assert all(not n for _, n in raise_all(home, line_anomalies(home.raw_line, home.raw_serials)))


def test_manual_and_identifier_forms(home: Home, clock: Clock) -> None:
    assert parse_identifier(f"(01){GTIN}(21)A1") == Subject(gtin=GTIN, serial="A1")
    assert parse_identifier(f"{GTIN}:A1") == Subject(gtin=GTIN, serial="A1")
    assert parse_identifier(PALLET) == Subject(sscc=PALLET)
    with pytest.raises(ValidationError, match="identifier"):
        parse_identifier("hello")
    with pytest.raises(ValidationError, match="description"):
        manual_alert("M-1", " ", [Subject(sscc=PALLET)], reported_by="op")
    alert = manual_alert("M-1", "torn seal", [parse_identifier(PALLET)], reported_by="op")
    ((case, new),) = raise_all(home, [alert], user="op", clock=clock)
    assert new and case.opened_by == "op" and "torn seal" in case.title
