"""Generate a large raw Parquet zone for warehouse benchmarks, straight to disk.

    .venv/bin/python bench/generate_rawzone.py --units 10000000 --batches 100 --out /tmp/raw

Writes exactly what the contracts say (``line_bridge/schemas.py``, ``ingest/schemas.py``,
``serialtrace/lifecycle/schema.py``) in the folder layout of docs/architecture.md:

    <out>/masterdata/<table>/part-*.parquet         one part per batch for lots and work orders
    <out>/serials/allocations/work_order=<WO>/part-00000.parquet
    <out>/line/<stream>/work_order=<WO>/part-00000.parquet   every stream, possibly empty
    <out>/line/aggregate/work_order=<WO>/part-00001.parquet  rework after the batch
    <out>/lifecycle/events/part-batch-close-<WO>.parquet     never-printed serials
    <out>/lifecycle/events/part-<time>-<request>.parquet     one decommissioning per batch

Each batch (work order) of N units: N serials allocated, all but 0.05 % printed (one unit
every 100 ms), about 1 % rejected at the camera (every cause; 2 % of the rejects without
gate confirmation), passed units packed 20 per case and 20 cases per pallet (the last
case and pallet closed partial), then rework (0.01 % of the units taken out of their
case for good as retention samples, as many taken out and put back), batch close for
the unprinted serials, and one post-line decommissioning per batch (one full case
destroyed, the retention samples decommissioned as `sample`). The default, 10 million
units in 100 batches, gives about 495,000 cases on 24,800 pallets.

Not generated: shipments (there is no shipping stream in the raw contracts yet).

Everything is vectorised with numpy and pyarrow, one batch at a time, and seeded: the
same arguments give the same files. ``generate(..., first_batch=k)`` appends batches
k, k+1, ... to an existing zone (new work orders, lots and lifecycle files; the shared
master data is written once).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# bench/line_bridge.py is named like the package: keep bench/ off the import path
BENCH_DIR = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
sys.path.insert(0, str(BENCH_DIR.parent))

from ingest.schemas import ALLOCATION_SCHEMA, MASTERDATA_TABLES  # noqa: E402
from line_bridge.schemas import STREAMS  # noqa: E402
from serialtrace.gs1.checkdigit import check_digit  # noqa: E402
from serialtrace.lifecycle.schema import LIFECYCLE_EVENT_SCHEMA  # noqa: E402

COMPANY_PREFIX = "0614141"
LOADED_AT = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)
EPOCH = datetime(2025, 1, 6, 6, 0, tzinfo=UTC)  # first batch starts here
BATCH_SLOT = timedelta(hours=4)  # batches start 4 hours apart (100,000 units take 2.8 h)
PRINT_INTERVAL_US = 100_000
CASE_SIZE = 20
PALLET_SIZE = 20
UNPRINTED_RATE = 0.0005
REJECT_RATE = 0.01
UNCONFIRMED_RATE = 0.02
REWORK_RATE = 0.0001
REJECT_CAUSE_WEIGHTS = {
    "wrong_data": 0.10,
    "unreadable": 0.30,
    "low_grade": 0.35,
    "timeout": 0.20,
    "duplicate": 0.05,
}
GRADE_VALUES = {"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0, "E": 0.5, "F": 0.0}
SERIAL_ALPHABET = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRSTUVWX", dtype=np.uint8)  # 32
SERIAL_LENGTH = 10  # 50 bits, enough for the 48-bit scrambled index
SSCC_STRIDE = 1_000_000  # serial references per batch (cases + pallets)
STRING = pa.string()


def with_check_digit(digits: str) -> str:
    return digits + check_digit(digits)


SITE_GLN = with_check_digit("061414100001")
CUSTOMER_GLN = with_check_digit("086000000001")
GTINS = [with_check_digit(f"00614141{n:05d}") for n in range(11, 15)]
LINES = ["LINE-1", "LINE-2", "LINE-3", "LINE-4"]


@dataclass(frozen=True)
class BatchSummary:
    work_order_id: str
    allocated: int
    printed: int
    rejected: int
    cases: int
    pallets: int
    lifecycle_events: int


# --- vectorised helpers ------------------------------------------------------------------


def _strings(chars: np.ndarray) -> pa.Array:
    """A (n, width) uint8 matrix of ASCII -> a pyarrow string array, without Python loops."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars).tobytes()
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _serials(batch: int, count: int) -> pa.Array:
    """Unique, random-looking serials: a bijection of (batch, index) on 48 bits, base 32."""
    index = np.uint64(batch) * np.uint64(100_000_000) + np.arange(count, dtype=np.uint64)
    mixed = (index * np.uint64(0x9E3779B97F4A7C15)) & np.uint64((1 << 48) - 1)
    shifts = np.arange(SERIAL_LENGTH - 1, -1, -1, dtype=np.uint64) * np.uint64(5)
    digits = (mixed[:, None] >> shifts[None, :]) & np.uint64(31)
    return _strings(SERIAL_ALPHABET[digits.astype(np.intp)])


def _ssccs(extension: int, references: np.ndarray) -> pa.Array:
    """SSCC-18 with check digits for serial references (9 digits after a 7-digit prefix)."""
    n = len(references)
    body = np.zeros((n, 17), dtype=np.int64)
    body[:, 0] = extension
    body[:, 1:8] = np.frombuffer(COMPANY_PREFIX.encode(), dtype=np.uint8) - 48
    ref = references.astype(np.int64)
    for position in range(16, 7, -1):
        body[:, position] = ref % 10
        ref //= 10
    weights = np.where(np.arange(17)[::-1] % 2 == 0, 3, 1)
    check = (10 - (body * weights).sum(axis=1) % 10) % 10
    digits = np.concatenate([body, check[:, None]], axis=1)
    return _strings((digits + 48).astype(np.uint8))


def _ts(micros: np.ndarray) -> pa.Array:
    return pa.array(micros.astype(np.int64), type=pa.timestamp("us", tz="UTC"))


def _us(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000


def _const(value: object, n: int, type_: pa.DataType = STRING) -> pa.Array:
    return pa.array([value], type=type_).take(np.zeros(n, dtype=np.int64))


def _write(
    path: Path, columns: dict[str, pa.Array] | list[dict[str, object]], schema: pa.Schema
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(columns, list):
        table = pa.Table.from_pylist(columns, schema=schema)
    else:
        table = pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)
    pq.write_table(table, path, row_group_size=1_000_000)


def _uuid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(int=int.from_bytes(rng.bytes(16), "big"), version=4))


# --- master data ---------------------------------------------------------------------------


def write_shared_masterdata(out: Path) -> None:
    """Company, site and customer, four products (written once per zone)."""
    md = out / "masterdata"
    _write(
        md / "companies" / "part-00000.parquet",
        [
            {
                "company_id": "ACME",
                "name": "Acme Pharma Inc.",
                "company_prefix": COMPANY_PREFIX,
                "loaded_at": LOADED_AT,
            }
        ],
        MASTERDATA_TABLES["companies"],
    )
    common = {"company_prefix_length": 7, "country_code": "US", "loaded_at": LOADED_AT}
    _write(
        md / "locations" / "part-00000.parquet",
        [
            {
                **common,
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
                **common,
                "gln": CUSTOMER_GLN,
                "role": "customer",
                "party_name": "Big Wholesale Corp.",
                "name": "Big Wholesale DC East",
                "street": "200 Distribution Blvd",
                "city": "Columbus",
                "state": "OH",
                "postal_code": "43004",
            },
        ],
        MASTERDATA_TABLES["locations"],
    )
    _write(
        md / "products" / "part-00000.parquet",
        [
            {
                "gtin": gtin,
                "company_id": "ACME",
                "company_prefix_length": 7,
                "ndc": f"61414-{n + 11:04d}-1",
                "ndc11": f"61414{n + 11:04d}01",
                "name": f"Acme product {n + 1}",
                "dosage_form": "tablet",
                "strength": "200 mg",
                "pack_size": "30 tablets",
                "manufacturer": "Acme Pharma Inc.",
                "loaded_at": LOADED_AT,
            }
            for n, gtin in enumerate(GTINS)
        ],
        MASTERDATA_TABLES["products"],
    )


# --- one batch -----------------------------------------------------------------------------


MAX_BATCHES = 1000  # work orders WO-000001 .. WO-001000 (batch 0 .. 999)


def generate_batch(out: Path, batch: int, units: int, seed: int = 7) -> BatchSummary:
    """Write work order ``batch`` (0-based) with ``units`` serials: every raw table it touches."""
    if not 0 <= batch < MAX_BATCHES or not 0 < units < 100_000_000:
        raise ValueError(f"batch must be in 0..{MAX_BATCHES - 1} and units in 1..99,999,999")
    rng = np.random.default_rng([seed, batch])
    wo = f"WO-{batch + 1:06d}"
    lot = f"L{batch + 1:06d}"
    gtin = GTINS[batch % len(GTINS)]
    line_id = LINES[batch % len(LINES)]
    started = EPOCH + batch * BATCH_SLOT
    expiry = date(2027, 1 + batch % 12, 28)
    expiry_yymmdd = expiry.strftime("%y%m%d")
    part = "part-00000.parquet"

    # master data of the batch: its lot and work order (one part file each)
    md = out / "masterdata"
    _write(
        md / "lots" / f"part-{wo}.parquet",
        [
            {
                "gtin": gtin,
                "lot": lot,
                "expiry": expiry,
                "manufactured_on": (started - timedelta(days=3)).date(),
                "release_status": "released",
                "loaded_at": LOADED_AT,
            }
        ],
        MASTERDATA_TABLES["lots"],
    )
    _write(
        md / "work_orders" / f"part-{wo}.parquet",
        [
            {
                "work_order_id": wo,
                "gtin": gtin,
                "lot": lot,
                "line_id": line_id,
                "site_gln": SITE_GLN,
                "customer_gln": CUSTOMER_GLN,
                "planned_quantity": units,
                "case_size": CASE_SIZE,
                "pallet_size": PALLET_SIZE,
                "loaded_at": LOADED_AT,
            }
        ],
        MASTERDATA_TABLES["work_orders"],
    )

    # allocation
    serials = _serials(batch, units)
    start_us = _us(started)
    _write(
        out / "serials" / "allocations" / f"work_order={wo}" / part,
        {
            "pool_id": _const(f"POOL-{gtin}", units),
            "work_order_id": _const(wo, units),
            "gtin": _const(gtin, units),
            "lot": _const(lot, units),
            "expiry": _const(expiry, units, pa.date32()),
            "serial": serials,
            "allocated_at": _ts(np.full(units, start_us - 3_600_000_000)),
        },
        ALLOCATION_SCHEMA,
    )

    # print
    printed = units - int(units * UNPRINTED_RATE)
    seq = np.arange(1, printed + 1, dtype=np.int64)
    p_serials = serials.slice(0, printed)
    ack_us = start_us + seq * PRINT_INTERVAL_US
    payload = pc.binary_join_element_wise(
        "01", gtin, "17", expiry_yymmdd, "10", lot, "\x1d21", p_serials, ""
    )
    hri = pc.binary_join_element_wise(
        f"GTIN {gtin}\nSN ", p_serials, f"\nLOT {lot}\nEXP {expiry_yymmdd}", ""
    )
    line_dir = out / "line"
    _write(
        line_dir / "print" / f"work_order={wo}" / part,
        {
            "work_order_id": _const(wo, printed),
            "line_id": _const(line_id, printed),
            "seq": pa.array(seq),
            "printer_id": _const(f"{line_id}-PRN", printed),
            "gtin": _const(gtin, printed),
            "serial": p_serials,
            "lot": _const(lot, printed),
            "expiry": _const(expiry_yymmdd, printed),
            "payload": payload,
            "hri": hri,
            "commanded_at": _ts(ack_us - 20_000),
            "acknowledged_at": _ts(ack_us),
        },
        STREAMS["print"],
    )

    # inspect: a cause for ~1 % of the units, grades for the rest
    causes = np.array(list(REJECT_CAUSE_WEIGHTS))
    rejected = rng.random(printed) < REJECT_RATE
    cause_idx = rng.choice(len(causes), size=printed, p=list(REJECT_CAUSE_WEIGHTS.values()))
    cause = np.where(rejected, causes[cause_idx].astype(object), np.array(None, dtype=object))
    no_read = np.isin(cause, ["unreadable", "timeout"])
    grade = rng.choice(["A", "B", "C"], size=printed, p=[0.88, 0.10, 0.02]).astype(object)
    grade[cause == "low_grade"] = "D"
    grade[no_read] = None
    grade_arr = pa.array(grade, type=pa.string())
    grade_value = np.full(printed, np.nan)
    for letter, value in GRADE_VALUES.items():
        grade_value[grade == letter] = value
    grade_value_arr = pa.array(grade_value, type=pa.float64(), from_pandas=True)
    wrong = pa.array(cause == "wrong_data")
    decoded_serial = pc.if_else(
        wrong,
        pc.binary_join_element_wise(pc.utf8_slice_codeunits(p_serials, 0, 9), "Z", ""),
        p_serials,
    )
    decoded_payload = pc.if_else(
        wrong,
        pc.binary_join_element_wise(
            "01", gtin, "17", expiry_yymmdd, "10", lot, "\x1d21", decoded_serial, ""
        ),
        payload,
    )
    unread = pa.array(no_read)
    null_str = pa.scalar(None, pa.string())
    decoded_payload = pc.if_else(unread, null_str, decoded_payload)
    decoded_serial = pc.if_else(unread, null_str, decoded_serial)
    inspected_us = ack_us + 200_000
    _write(
        line_dir / "inspect" / f"work_order={wo}" / part,
        {
            "work_order_id": _const(wo, printed),
            "line_id": _const(line_id, printed),
            "seq": pa.array(seq),
            "camera_id": _const(f"{line_id}-CAM", printed),
            "gtin": _const(gtin, printed),
            "expected_serial": p_serials,
            "decoded_payload": decoded_payload,
            "decoded_serial": decoded_serial,
            "grade": grade_arr,
            "grade_value": grade_value_arr,
            "readable": pa.array(~no_read),
            "outcome": pa.array(np.where(rejected, "fail", "pass")),
            "cause": pa.array(cause, type=pa.string()),
            "inspected_at": _ts(inspected_us),
            "decision_latency_us": pa.array(rng.integers(900, 3_000, printed, dtype=np.int64)),
        },
        STREAMS["inspect"],
    )

    # reject: one record per failed unit
    r_idx = np.flatnonzero(rejected)
    n_rej = len(r_idx)
    confirmed = rng.random(n_rej) >= UNCONFIRMED_RATE
    r_insp = inspected_us[r_idx]
    confirmed_at = pa.array(
        np.where(confirmed, r_insp + 400_000, 0), type=pa.int64(), mask=~confirmed
    ).cast(pa.timestamp("us", tz="UTC"))
    _write(
        line_dir / "reject" / f"work_order={wo}" / part,
        {
            "work_order_id": _const(wo, n_rej),
            "line_id": _const(line_id, n_rej),
            "seq": pa.array(seq[r_idx]),
            "gate_id": _const(f"{line_id}-GATE", n_rej),
            "gtin": _const(gtin, n_rej),
            "serial": p_serials.take(pa.array(r_idx)),
            "cause": pa.array(cause[r_idx], type=pa.string()),
            "commanded_at": _ts(r_insp + 50_000),
            "confirmed": pa.array(confirmed),
            "confirmed_at": confirmed_at,
        },
        STREAMS["reject"],
    )

    # aggregate: passed units 20 per case, cases 20 per pallet; partial last ones
    end_us = int(ack_us[-1]) + 5_000_000 if printed else start_us
    p_idx = np.flatnonzero(~rejected)
    n_pass = len(p_idx)
    n_cases = -(-n_pass // CASE_SIZE)
    n_pallets = -(-n_cases // PALLET_SIZE)
    base_ref = batch * SSCC_STRIDE
    case_ssccs = _ssccs(0, base_ref + np.arange(n_cases))
    pallet_ssccs = _ssccs(1, base_ref + n_cases + np.arange(n_pallets))
    item_case = np.arange(n_pass) // CASE_SIZE
    case_fill = np.bincount(item_case, minlength=n_cases)
    case_full = case_fill == CASE_SIZE
    last_item_of_case = np.minimum((np.arange(n_cases) + 1) * CASE_SIZE, n_pass) - 1
    case_closed = np.where(case_full, inspected_us[p_idx[last_item_of_case]] + 1_000_000, end_us)
    case_pallet = np.arange(n_cases) // PALLET_SIZE
    pallet_fill = np.bincount(case_pallet, minlength=n_pallets)
    pallet_full = pallet_fill == PALLET_SIZE
    last_case_of_pallet = np.minimum((np.arange(n_pallets) + 1) * PALLET_SIZE, n_cases) - 1
    pallet_closed = np.where(
        pallet_full, case_closed[last_case_of_pallet] + 2_000_000, end_us + 2_000_000
    )
    items = {
        "work_order_id": _const(wo, n_pass),
        "line_id": _const(line_id, n_pass),
        "parent_sscc": case_ssccs.take(pa.array(item_case)),
        "parent_level": _const("case", n_pass),
        "child_level": _const("item", n_pass),
        "child_gtin": _const(gtin, n_pass),
        "child_serial": p_serials.take(pa.array(p_idx)),
        "child_sscc": _const(None, n_pass),
        "action": _const("ADD", n_pass),
        "parent_full": pa.array(case_full[item_case]),
        "aggregated_at": _ts(case_closed[item_case]),
    }
    cases = {
        "work_order_id": _const(wo, n_cases),
        "line_id": _const(line_id, n_cases),
        "parent_sscc": pallet_ssccs.take(pa.array(case_pallet)),
        "parent_level": _const("pallet", n_cases),
        "child_level": _const("case", n_cases),
        "child_gtin": _const(None, n_cases),
        "child_serial": _const(None, n_cases),
        "child_sscc": case_ssccs,
        "action": _const("ADD", n_cases),
        "parent_full": pa.array(pallet_full[case_pallet]),
        "aggregated_at": _ts(pallet_closed[case_pallet]),
    }
    schema = STREAMS["aggregate"]
    aggregate = pa.concat_tables(
        [pa.Table.from_pydict(items, schema=schema), pa.Table.from_pydict(cases, schema=schema)]
    )
    agg_dir = line_dir / "aggregate" / f"work_order={wo}"
    agg_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(aggregate, agg_dir / part, row_group_size=1_000_000)

    # rework after the batch: samples taken out for good, as many taken out and put back;
    # one more full case is destroyed after the line (lifecycle below)
    n_rework = max(1, int(units * REWORK_RATE))
    full_cases = np.flatnonzero(case_full)
    picked = rng.permutation(full_cases)[: 2 * n_rework + 1] if len(full_cases) else full_cases
    sample_cases = picked[:n_rework]
    back_cases = picked[n_rework : 2 * n_rework]
    destroyed_case = picked[2 * n_rework] if len(picked) > 2 * n_rework else None
    rework_at = end_us + 600_000_000
    rework_rows: list[dict[str, object]] = []
    sample_serials: list[str] = []
    for k, case in enumerate(sample_cases.tolist()):
        serial = p_serials[int(p_idx[case * CASE_SIZE])].as_py()
        sample_serials.append(serial)
        rework_rows.append(
            _item_row(
                wo,
                line_id,
                case_ssccs[case].as_py(),
                gtin,
                serial,
                "DELETE",
                rework_at + k * 1_000_000,
            )
        )
    for k, case in enumerate(back_cases.tolist()):
        serial = p_serials[int(p_idx[case * CASE_SIZE])].as_py()
        at = rework_at + (n_rework + k) * 1_000_000
        sscc = case_ssccs[case].as_py()
        rework_rows.append(_item_row(wo, line_id, sscc, gtin, serial, "DELETE", at))
        rework_rows.append(_item_row(wo, line_id, sscc, gtin, serial, "ADD", at + 500_000))
    _write(agg_dir / "part-00001.parquet", rework_rows, schema)

    for stream, stream_schema in STREAMS.items():  # line_state, metrics, ...: empty files
        if stream not in ("print", "inspect", "reject", "aggregate"):
            _write(line_dir / stream / f"work_order={wo}" / part, [], stream_schema)

    # lifecycle: batch close (never-printed serials), then one decommissioning request
    events_dir = out / "lifecycle" / "events"
    close_at = datetime.fromtimestamp((end_us + 60_000_000) / 1e6, tz=UTC)
    close_request = _uuid(rng)
    unprinted = serials.slice(printed).to_pylist()
    close_rows = [
        _event(
            rng,
            close_request,
            gtin,
            s,
            wo,
            "allocated",
            "unused_at_batch_close",
            "work_order",
            wo,
            None,
            "batch-close",
            "batch_close",
            close_at,
        )
        for s in unprinted
    ]
    _write(events_dir / f"part-batch-close-{wo}.parquet", close_rows, LIFECYCLE_EVENT_SCHEMA)
    decommission_at = close_at + timedelta(days=1)
    request = _uuid(rng)
    rows = [
        _event(
            rng,
            request,
            gtin,
            s,
            wo,
            "commissioned",
            "sample",
            "serial",
            f"(01){gtin}(21){s}",
            SITE_GLN,
            "qa.bench",
            "cli",
            decommission_at,
        )
        for s in sample_serials
    ]
    if destroyed_case is not None:
        first = int(destroyed_case) * CASE_SIZE
        for k in range(CASE_SIZE):
            s = p_serials[int(p_idx[first + k])].as_py()
            rows.append(
                _event(
                    rng,
                    request,
                    gtin,
                    s,
                    wo,
                    "aggregated",
                    "destroyed",
                    "case",
                    case_ssccs[int(destroyed_case)].as_py(),
                    SITE_GLN,
                    "qa.bench",
                    "cli",
                    decommission_at,
                )
            )
    name = f"{decommission_at:%Y%m%dT%H%M%S%f}-{request}"
    _write(events_dir / f"part-{name}.parquet", rows, LIFECYCLE_EVENT_SCHEMA)
    return BatchSummary(wo, units, printed, n_rej, n_cases, n_pallets, len(close_rows) + len(rows))


def _item_row(
    wo: str, line_id: str, sscc: str, gtin: str, serial: str, action: str, at_us: int
) -> dict[str, object]:
    return {
        "work_order_id": wo,
        "line_id": line_id,
        "parent_sscc": sscc,
        "parent_level": "case",
        "child_level": "item",
        "child_gtin": gtin,
        "child_serial": serial,
        "child_sscc": None,
        "action": action,
        "parent_full": True,
        "aggregated_at": datetime.fromtimestamp(at_us / 1e6, tz=UTC),
    }


def _event(
    rng: np.random.Generator,
    request_id: str,
    gtin: str,
    serial: str,
    wo: str,
    from_status: str,
    reason: str,
    scope: str,
    scope_id: str,
    location_gln: str | None,
    recorded_by: str,
    source: str,
    at: datetime,
) -> dict[str, object]:
    return {
        "event_id": _uuid(rng),
        "request_id": request_id,
        "gtin": gtin,
        "serial": serial,
        "work_order_id": wo,
        "from_status": from_status,
        "to_status": "decommissioned",
        "reason": reason,
        "scope": scope,
        "scope_id": scope_id,
        "location_gln": location_gln,
        "recorded_by": recorded_by,
        "source": source,
        "occurred_at": at,
        "recorded_at": at,
    }


def generate(
    out: Path, units: int, batches: int, *, first_batch: int = 0, seed: int = 7
) -> list[BatchSummary]:
    """Write ``batches`` work orders sharing ``units`` serials (as evenly as possible),
    numbered from ``first_batch``; the shared master data when ``first_batch`` is 0."""
    if batches < 1 or units < batches:
        raise ValueError("need at least one batch and one unit per batch")
    if first_batch == 0:
        write_shared_masterdata(out)
    sizes = [units // batches + (1 if k < units % batches else 0) for k in range(batches)]
    return [generate_batch(out, first_batch + k, size, seed) for k, size in enumerate(sizes)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=10_000_000, help="serials allocated in total")
    parser.add_argument(
        "--batches", type=int, default=None, help="work orders (default: units / 100,000)"
    )
    parser.add_argument(
        "--first-batch", type=int, default=0, help="number of the first batch (append)"
    )
    parser.add_argument("--out", type=Path, required=True, help="raw zone root to write")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    batches = args.batches or max(1, round(args.units / 100_000))
    started = time.perf_counter()
    summary = generate(args.out, args.units, batches, first_batch=args.first_batch, seed=args.seed)
    seconds = time.perf_counter() - started
    figures = {
        "benchmark": "generate_rawzone",
        "units": args.units,
        "batches": batches,
        "printed": sum(b.printed for b in summary),
        "rejected": sum(b.rejected for b in summary),
        "cases": sum(b.cases for b in summary),
        "pallets": sum(b.pallets for b in summary),
        "lifecycle_events": sum(b.lifecycle_events for b in summary),
        "shipments": None,  # no shipping stream in the raw contracts yet
        "seconds": round(seconds, 2),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
