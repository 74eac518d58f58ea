"""Build small, exact raw zones (the Parquet files the warehouse reads) for tests.

The files follow the contracts in ``line_bridge/schemas.py`` and ``ingest/schemas.py``
and the folder layout the dbt sources expect::

    <root>/line/<stream>/work_order=<WO>/part-00000.parquet     (print, inspect, reject, aggregate)
    <root>/masterdata/<table>/part-00000.parquet                (companies, locations, ...)
    <root>/serials/allocations/work_order=<WO>/part-00000.parquet
    <root>/lifecycle/events/part-00000.parquet                  (only when there are events)

Use :func:`demo_raw_zone` for the standard scenario (two work orders run on two lines
and one not started: 115 allocated and 101 printed units, rejects of every cause,
partial last cases and pallets, rework that moves one unit to another case, takes one
out and puts it back, and takes one out for good), or build a
:class:`RawZone` yourself with :func:`simulate_work_order`. A ``RawZone`` is plain
lists of row dicts, so a test can break an invariant by appending or editing rows
before calling :meth:`RawZone.write`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from ingest.schemas import ALLOCATION_SCHEMA, MASTERDATA_TABLES
from line_bridge.schemas import STREAMS
from serialtrace.gs1.checkdigit import check_digit
from serialtrace.io.parquet import rows_to_table, write_atomic
from serialtrace.lifecycle.schema import LIFECYCLE_EVENT_SCHEMA

Row = dict[str, Any]

LOADED_AT = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)


def with_check_digit(digits: str) -> str:
    return digits + check_digit(digits)


def sscc(company_prefix: str, serial_reference: int, extension: str = "0") -> str:
    """SSCC-18: extension digit, company prefix, serial reference, check digit."""
    width = 16 - len(company_prefix)
    return with_check_digit(f"{extension}{company_prefix}{serial_reference:0{width}d}")


def element_string(gtin: str, serial: str, lot: str, expiry: str) -> str:
    return f"01{gtin}17{expiry}10{lot}\x1d21{serial}"


@dataclass
class RawZone:
    """Rows of every raw table, written as Parquet by :meth:`write`."""

    masterdata: dict[str, list[Row]] = field(
        default_factory=lambda: {table: [] for table in MASTERDATA_TABLES}
    )
    allocations: dict[str, list[Row]] = field(default_factory=dict)
    line: dict[str, dict[str, list[Row]]] = field(
        default_factory=lambda: {stream: {} for stream in STREAMS}
    )
    # lifecycle events recorded outside the line; no file at all when empty, as in a home
    # where nothing was decommissioned yet
    lifecycle: list[Row] = field(default_factory=list)

    def work_order_ids(self) -> list[str]:
        return [row["work_order_id"] for row in self.masterdata["work_orders"]]

    def rows(self, stream: str) -> list[Row]:
        """All rows of one line stream, across work orders."""
        return [row for rows in self.line[stream].values() for row in rows]

    def write(self, root: Path) -> Path:
        """Write every table under ``root`` (created if needed); returns ``root``.

        Every line stream gets one file per work order, empty or not, as the line
        bridge does.
        """
        for table, schema in MASTERDATA_TABLES.items():
            write_rows(
                root / "masterdata" / table / "part-00000.parquet", self.masterdata[table], schema
            )
        for work_order_id, rows in self.allocations.items():
            folder = root / "serials" / "allocations" / f"work_order={work_order_id}"
            write_rows(folder / "part-00000.parquet", rows, ALLOCATION_SCHEMA)
        work_orders = set(self.work_order_ids()) | {
            wo for streams in self.line.values() for wo in streams
        }
        for stream, schema in STREAMS.items():
            for work_order_id in sorted(work_orders):
                rows = self.line[stream].get(work_order_id, [])
                folder = root / "line" / stream / f"work_order={work_order_id}"
                write_rows(folder / "part-00000.parquet", rows, schema)
        if self.lifecycle:
            path = root / "lifecycle" / "events" / "part-00000.parquet"
            write_rows(path, self.lifecycle, LIFECYCLE_EVENT_SCHEMA)
        return root


def write_rows(path: Path, rows: Iterable[Mapping[str, Any]], schema: pa.Schema) -> None:
    """One Parquet part file of ``rows``, through the writer the production stages use
    (exact schema, atomic rename). Nullable columns a scenario does not set (provenance
    columns of the ERP connectors, say) are null; a missing required column still fails."""
    complete = [
        {f.name: (row.get(f.name) if f.nullable else row[f.name]) for f in schema} for row in rows
    ]
    write_atomic(path, rows_to_table(complete, schema))


@dataclass(frozen=True)
class WorkOrderSpec:
    """One batch to simulate on the line."""

    work_order_id: str
    gtin: str
    lot: str
    expiry: date
    line_id: str
    site_gln: str
    customer_gln: str
    company_prefix: str
    allocated: int  # serials allocated to the work order
    printed: int  # how many of them the line printed (seq 1..printed)
    case_size: int
    pallet_size: int
    started_at: datetime
    rejects: Mapping[int, str]  # seq -> reject cause
    grades: Mapping[int, str] = field(default_factory=dict)  # seq -> grade of a passed unit
    low_grade: str = "D"  # grade read on a low_grade reject
    unconfirmed_rejects: frozenset[int] = frozenset()  # seqs whose reject gate did not confirm
    sscc_base: int = 1  # first serial reference used for this batch's SSCCs
    serial_prefix: str = "SN"


GRADE_VALUES = {"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0, "E": 0.5, "F": 0.0}


@dataclass
class SimulatedBatch:
    """What :func:`simulate_work_order` produced, for writing rework on top of it."""

    spec: WorkOrderSpec
    serials: list[str]  # allocated serials, in seq order
    cases: list[str]  # case SSCCs in order
    case_items: dict[str, list[str]]  # case SSCC -> serials
    pallets: list[str]
    pallet_cases: dict[str, list[str]]
    ended_at: datetime


def simulate_work_order(zone: RawZone, spec: WorkOrderSpec) -> SimulatedBatch:
    """Append a batch's allocations and line streams to ``zone``.

    Unit ``seq`` is printed at ``started_at + seq`` seconds, inspected 200 ms later;
    failed units are rejected (50 ms after inspection, confirmed 300 ms later unless
    listed in ``unconfirmed_rejects``). Passed units fill cases of ``case_size`` in
    order (one ADD per item when the case closes), closed cases fill pallets of
    ``pallet_size``; the last case and pallet are closed partial (``parent_full``
    false) at batch end if short.
    """
    wo = spec.work_order_id
    expiry_yymmdd = spec.expiry.strftime("%y%m%d")
    serials = [f"{spec.serial_prefix}{n:07d}" for n in range(1, spec.allocated + 1)]
    zone.allocations[wo] = [
        {
            "pool_id": f"POOL-{spec.gtin}",
            "work_order_id": wo,
            "gtin": spec.gtin,
            "lot": spec.lot,
            "expiry": spec.expiry,
            "serial": serial,
            "allocated_at": spec.started_at - timedelta(hours=1),
        }
        for serial in serials
    ]
    prints: list[Row] = []
    inspections: list[Row] = []
    rejects: list[Row] = []
    passed: list[tuple[str, datetime]] = []
    for seq in range(1, spec.printed + 1):
        serial = serials[seq - 1]
        payload = element_string(spec.gtin, serial, spec.lot, expiry_yymmdd)
        commanded_at = spec.started_at + timedelta(seconds=seq) - timedelta(milliseconds=100)
        printed_at = spec.started_at + timedelta(seconds=seq)
        prints.append(
            {
                "work_order_id": wo,
                "line_id": spec.line_id,
                "seq": seq,
                "printer_id": f"{spec.line_id}-PRN",
                "gtin": spec.gtin,
                "serial": serial,
                "lot": spec.lot,
                "expiry": expiry_yymmdd,
                "payload": payload,
                "hri": f"GTIN {spec.gtin}\nSN {serial}\nLOT {spec.lot}\nEXP {expiry_yymmdd}",
                "commanded_at": commanded_at,
                "acknowledged_at": printed_at,
            }
        )
        inspected_at = printed_at + timedelta(milliseconds=200)
        cause = spec.rejects.get(seq)
        decoded_payload: str | None = payload
        decoded_serial: str | None = serial
        grade: str | None = spec.grades.get(seq, "A")
        if cause == "wrong_data":
            decoded_serial = serial[:-1] + "X"
            decoded_payload = element_string(spec.gtin, decoded_serial, spec.lot, expiry_yymmdd)
        elif cause in ("unreadable", "timeout"):
            decoded_payload = decoded_serial = grade = None
        elif cause == "low_grade":
            grade = spec.low_grade
        inspections.append(
            {
                "work_order_id": wo,
                "line_id": spec.line_id,
                "seq": seq,
                "camera_id": f"{spec.line_id}-CAM",
                "gtin": spec.gtin,
                "expected_serial": serial,
                "decoded_payload": decoded_payload,
                "decoded_serial": decoded_serial,
                "grade": grade,
                "grade_value": GRADE_VALUES[grade] if grade else None,
                "readable": decoded_payload is not None,
                "outcome": "fail" if cause else "pass",
                "cause": cause,
                "inspected_at": inspected_at,
                "decision_latency_us": 1_500 + seq,
            }
        )
        if cause:
            confirmed = seq not in spec.unconfirmed_rejects
            confirmed_at = inspected_at + timedelta(milliseconds=350) if confirmed else None
            rejects.append(
                {
                    "work_order_id": wo,
                    "line_id": spec.line_id,
                    "seq": seq,
                    "gate_id": f"{spec.line_id}-GATE",
                    "gtin": spec.gtin,
                    "serial": serial,
                    "cause": cause,
                    "commanded_at": inspected_at + timedelta(milliseconds=50),
                    "confirmed": confirmed,
                    "confirmed_at": confirmed_at,
                }
            )
        else:
            passed.append((serial, inspected_at))

    ended_at = spec.started_at + timedelta(seconds=spec.printed + 5)
    aggregates: list[Row] = []
    next_ref = spec.sscc_base
    cases: list[str] = []
    case_items: dict[str, list[str]] = {}
    case_closed_at: dict[str, datetime] = {}
    for start in range(0, len(passed), spec.case_size):
        chunk = passed[start : start + spec.case_size]
        case = sscc(spec.company_prefix, next_ref)
        next_ref += 1
        full = len(chunk) == spec.case_size
        closed_at = chunk[-1][1] + timedelta(seconds=1) if full else ended_at
        cases.append(case)
        case_items[case] = [serial for serial, _ in chunk]
        case_closed_at[case] = closed_at
        aggregates.extend(
            _link(wo, spec.line_id, case, "case", "item", closed_at, full, spec.gtin, serial)
            for serial, _ in chunk
        )
    pallets: list[str] = []
    pallet_cases: dict[str, list[str]] = {}
    for start in range(0, len(cases), spec.pallet_size):
        chunk_cases = cases[start : start + spec.pallet_size]
        pallet = sscc(spec.company_prefix, next_ref, extension="1")
        next_ref += 1
        full = len(chunk_cases) == spec.pallet_size
        closed_at = (
            case_closed_at[chunk_cases[-1]] + timedelta(seconds=2)
            if full
            else ended_at + timedelta(seconds=2)
        )
        pallets.append(pallet)
        pallet_cases[pallet] = list(chunk_cases)
        aggregates.extend(
            _link(wo, spec.line_id, pallet, "pallet", "case", closed_at, full, child_sscc=case)
            for case in chunk_cases
        )
    zone.line["print"][wo] = prints
    zone.line["inspect"][wo] = inspections
    zone.line["reject"][wo] = rejects
    zone.line["aggregate"][wo] = aggregates
    return SimulatedBatch(spec, serials, cases, case_items, pallets, pallet_cases, ended_at)


def _link(
    work_order_id: str,
    line_id: str,
    parent_sscc: str,
    parent_level: str,
    child_level: str,
    aggregated_at: datetime,
    parent_full: bool,
    child_gtin: str | None = None,
    child_serial: str | None = None,
    child_sscc: str | None = None,
    action: str = "ADD",
) -> Row:
    return {
        "work_order_id": work_order_id,
        "line_id": line_id,
        "parent_sscc": parent_sscc,
        "parent_level": parent_level,
        "child_level": child_level,
        "child_gtin": child_gtin,
        "child_serial": child_serial,
        "child_sscc": child_sscc,
        "action": action,
        "parent_full": parent_full,
        "aggregated_at": aggregated_at,
    }


def item_link(
    batch: SimulatedBatch,
    case_sscc: str,
    serial: str,
    aggregated_at: datetime,
    action: str = "ADD",
    parent_full: bool = True,
) -> Row:
    """One case <- item aggregation row of ``batch`` (for rework or broken data)."""
    spec = batch.spec
    return _link(
        spec.work_order_id,
        spec.line_id,
        case_sscc,
        "case",
        "item",
        aggregated_at,
        parent_full,
        child_gtin=spec.gtin,
        child_serial=serial,
        action=action,
    )


# --- the standard scenario -------------------------------------------------------------

COMPANY_PREFIX = "0614141"
SITE_GLN = with_check_digit("061414100001")
CUSTOMER_GLN = with_check_digit("086000000001")
GTIN_A = with_check_digit("0061414100001")  # 10 x 10 mL vial
GTIN_B = with_check_digit("0061414100002")  # 30 tablets


def master_data(zone: RawZone) -> None:
    """One company, a site and a customer, two products with one lot each, two work orders."""
    zone.masterdata["companies"] = [
        {
            "company_id": "ACME",
            "name": "Acme Pharma Inc.",
            "company_prefix": COMPANY_PREFIX,
            "loaded_at": LOADED_AT,
        }
    ]
    location_common = {"company_prefix_length": 7, "country_code": "US", "loaded_at": LOADED_AT}
    zone.masterdata["locations"] = [
        {
            **location_common,
            "gln": SITE_GLN,
            "role": "site",
            "party_name": "Acme Pharma Inc.",
            "name": "Acme Packaging Plant 1",
            "street": "1 Industrial Way",
            "city": "Raleigh",
            "state": "NC",
            "postal_code": "27601",
        },
        {
            **location_common,
            "company_prefix_length": 7,
            "gln": CUSTOMER_GLN,
            "role": "customer",
            "party_name": "Big Wholesale Corp.",
            "name": "Big Wholesale DC East",
            "street": "200 Distribution Blvd",
            "city": "Columbus",
            "state": "OH",
            "postal_code": "43004",
        },
    ]
    product_common = {
        "company_id": "ACME",
        "company_prefix_length": 7,
        "manufacturer": "Acme Pharma Inc.",
        "loaded_at": LOADED_AT,
    }
    zone.masterdata["products"] = [
        {
            **product_common,
            "gtin": GTIN_A,
            "ndc": "61414-0001-1",
            "ndc11": "61414000101",
            "name": "Acmecillin injection",
            "dosage_form": "injection, solution",
            "strength": "250 mg/mL",
            "pack_size": "10 x 10 mL vial",
        },
        {
            **product_common,
            "gtin": GTIN_B,
            "ndc": "61414-0002-3",
            "ndc11": "61414000203",
            "name": "Acmeprofen tablets",
            "dosage_form": "tablet",
            "strength": "200 mg",
            "pack_size": "30 tablets",
        },
    ]
    zone.masterdata["lots"] = [
        {
            "gtin": GTIN_A,
            "lot": "LA001",
            "expiry": date(2027, 2, 28),
            "manufactured_on": date(2025, 2, 20),
            "release_status": "released",
            "loaded_at": LOADED_AT,
        },
        {
            "gtin": GTIN_B,
            "lot": "LB001",
            "expiry": date(2027, 8, 31),
            "manufactured_on": date(2025, 2, 25),
            "release_status": "released",
            "loaded_at": LOADED_AT,
        },
        {
            "gtin": GTIN_B,
            "lot": "LB002",
            "expiry": date(2027, 9, 30),
            "manufactured_on": date(2025, 3, 1),
            "release_status": "released",
            "loaded_at": LOADED_AT,
        },
    ]
    zone.masterdata["work_orders"] = [
        {
            "work_order_id": "WO-1001",
            "gtin": GTIN_A,
            "lot": "LA001",
            "line_id": "LINE-1",
            "site_gln": SITE_GLN,
            "customer_gln": CUSTOMER_GLN,
            "planned_quantity": 60,
            "case_size": 10,
            "pallet_size": 4,
            "loaded_at": LOADED_AT,
        },
        {
            "work_order_id": "WO-1002",
            "gtin": GTIN_B,
            "lot": "LB001",
            "line_id": "LINE-2",
            "site_gln": SITE_GLN,
            "customer_gln": CUSTOMER_GLN,
            "planned_quantity": 50,
            "case_size": 12,
            "pallet_size": 2,
            "loaded_at": LOADED_AT,
        },
        {
            "work_order_id": "WO-1003",
            "gtin": GTIN_B,
            "lot": "LB002",
            "line_id": "LINE-2",
            "site_gln": SITE_GLN,
            "customer_gln": CUSTOMER_GLN,
            "planned_quantity": 5,
            "case_size": 12,
            "pallet_size": 2,
            "loaded_at": LOADED_AT,
        },
    ]


WO1_SPEC = WorkOrderSpec(
    work_order_id="WO-1001",
    gtin=GTIN_A,
    lot="LA001",
    expiry=date(2027, 2, 28),
    line_id="LINE-1",
    site_gln=SITE_GLN,
    customer_gln=CUSTOMER_GLN,
    company_prefix=COMPANY_PREFIX,
    allocated=60,
    printed=60,
    case_size=10,
    pallet_size=4,
    started_at=datetime(2025, 3, 3, 8, 0, tzinfo=UTC),
    rejects={
        7: "wrong_data",
        13: "unreadable",
        21: "low_grade",
        29: "timeout",
        37: "duplicate",
        45: "wrong_data",
    },
    grades={2: "B", 4: "B", 6: "C"},
    low_grade="D",
    unconfirmed_rejects=frozenset({45}),
    sscc_base=1,
    serial_prefix="A",
)

WO2_SPEC = WorkOrderSpec(
    work_order_id="WO-1002",
    gtin=GTIN_B,
    lot="LB001",
    expiry=date(2027, 8, 31),
    line_id="LINE-2",
    site_gln=SITE_GLN,
    customer_gln=CUSTOMER_GLN,
    company_prefix=COMPANY_PREFIX,
    allocated=50,
    printed=41,
    case_size=12,
    pallet_size=2,
    started_at=datetime(2025, 3, 3, 10, 0, tzinfo=UTC),
    rejects={3: "timeout", 9: "low_grade", 15: "unreadable", 22: "duplicate"},
    grades={5: "B"},
    low_grade="F",
    sscc_base=101,
    serial_prefix="B",
)

WO3_SPEC = WorkOrderSpec(
    work_order_id="WO-1003",
    gtin=GTIN_B,
    lot="LB002",
    expiry=date(2027, 9, 30),
    line_id="LINE-2",
    site_gln=SITE_GLN,
    customer_gln=CUSTOMER_GLN,
    company_prefix=COMPANY_PREFIX,
    allocated=5,
    printed=0,
    case_size=12,
    pallet_size=2,
    started_at=datetime(2025, 3, 4, 8, 0, tzinfo=UTC),
    rejects={},
    sscc_base=201,
    serial_prefix="C",
)


@dataclass
class DemoZone:
    """The standard scenario and the handles a test needs to check or break it."""

    zone: RawZone
    wo1: SimulatedBatch
    wo2: SimulatedBatch
    wo3: SimulatedBatch
    moved_serial: str  # WO-1001: taken out of case 1, added to the partial case 6
    reworked_serial: str  # WO-1001: taken out of case 2 and put back into case 2
    sampled_serial: str  # WO-1001: taken out of case 3 for good (retention sample)


def demo_raw_zone() -> DemoZone:
    """Two work orders on two lines, with rework on WO-1001.

    WO-1001 (LINE-1, case 10, pallet 4): 60 allocated, 60 printed, 6 rejects
    (wrong_data x2, one not confirmed; unreadable, low_grade, timeout, duplicate),
    54 passed -> cases 1-5 full, case 6 partial (4); pallet 1 full (cases 1-4),
    pallet 2 partial (cases 5-6). Rework after the batch: the first item of case 1 is
    DELETEd and ADDed to case 6 (case 1: 9 items, case 6: 5 items); the first item of
    case 2 is DELETEd and ADDed back to case 2 (unchanged); the first item of case 3 is
    DELETEd for good (retention sample: case 3 keeps 9 items, the unit is loose).

    WO-1002 (LINE-2, case 12, pallet 2): 50 allocated, 41 printed (9 never printed),
    4 rejects (timeout, low_grade, unreadable, duplicate), 37 passed -> cases 1-3 full,
    case 4 partial (1 item); pallets 1 and 2 full.

    WO-1003 (LINE-2): 5 serials allocated, not started: every line stream has an empty
    file for it.
    """
    zone = RawZone()
    master_data(zone)
    wo1 = simulate_work_order(zone, WO1_SPEC)
    wo2 = simulate_work_order(zone, WO2_SPEC)
    wo3 = simulate_work_order(zone, WO3_SPEC)

    rework_at = wo1.ended_at + timedelta(minutes=10)
    case1, case2, case3, case6 = wo1.cases[0], wo1.cases[1], wo1.cases[2], wo1.cases[5]
    moved = wo1.case_items[case1][0]
    reworked = wo1.case_items[case2][0]
    sampled = wo1.case_items[case3][0]
    zone.line["aggregate"][WO1_SPEC.work_order_id].extend(
        [
            item_link(wo1, case1, moved, rework_at, action="DELETE"),
            item_link(wo1, case6, moved, rework_at + timedelta(seconds=1), parent_full=False),
            item_link(wo1, case2, reworked, rework_at + timedelta(seconds=2), action="DELETE"),
            item_link(wo1, case2, reworked, rework_at + timedelta(seconds=3)),
            item_link(wo1, case3, sampled, rework_at + timedelta(seconds=4), action="DELETE"),
        ]
    )
    return DemoZone(
        zone,
        wo1,
        wo2,
        wo3,
        moved_serial=moved,
        reworked_serial=reworked,
        sampled_serial=sampled,
    )
