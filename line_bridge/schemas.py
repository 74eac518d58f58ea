"""Parquet contracts of the raw line streams written by the line bridge.

These schemas are the only thing the warehouse (transforms/) may rely on: they are
defined here once and documented in docs/architecture.md. Files live under
``<home>/raw/line/<stream>/work_order=<WO>/part-<NNNNN>.parquet``.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

PRINT_SCHEMA = pa.schema(
    [
        pa.field("work_order_id", pa.string(), nullable=False),
        pa.field("line_id", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),  # position of the unit on the line, from 1
        pa.field("printer_id", pa.string(), nullable=False),
        pa.field("gtin", pa.string(), nullable=False),
        pa.field("serial", pa.string(), nullable=False),
        pa.field("lot", pa.string(), nullable=False),
        pa.field("expiry", pa.string(), nullable=False),  # YYMMDD as printed
        pa.field("payload", pa.string(), nullable=False),  # element string, GS = ASCII 29
        pa.field("hri", pa.string(), nullable=False),  # human-readable lines joined by '\n'
        pa.field("commanded_at", TS, nullable=False),
        pa.field("acknowledged_at", TS, nullable=True),  # null: never confirmed (restart)
    ]
)

INSPECT_SCHEMA = pa.schema(
    [
        pa.field("work_order_id", pa.string(), nullable=False),
        pa.field("line_id", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("camera_id", pa.string(), nullable=False),
        pa.field("gtin", pa.string(), nullable=False),
        pa.field("expected_serial", pa.string(), nullable=False),
        pa.field("decoded_payload", pa.string(), nullable=True),  # null = nothing decoded
        pa.field("decoded_serial", pa.string(), nullable=True),
        pa.field("grade", pa.string(), nullable=True),  # ISO/IEC 15415 letter A-F
        pa.field("grade_value", pa.float64(), nullable=True),  # 4.0 (A) .. 0.0 (F)
        pa.field("readable", pa.bool_(), nullable=False),
        pa.field("outcome", pa.string(), nullable=False),  # 'pass' | 'fail'
        pa.field("cause", pa.string(), nullable=True),  # see REJECT_CAUSES; null on pass
        pa.field("inspected_at", TS, nullable=False),
        pa.field("decision_latency_us", pa.int64(), nullable=False),
    ]
)

REJECT_SCHEMA = pa.schema(
    [
        pa.field("work_order_id", pa.string(), nullable=False),
        pa.field("line_id", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("gate_id", pa.string(), nullable=False),
        pa.field("gtin", pa.string(), nullable=False),
        pa.field("serial", pa.string(), nullable=False),
        pa.field("cause", pa.string(), nullable=False),
        pa.field("commanded_at", TS, nullable=False),
        pa.field("confirmed", pa.bool_(), nullable=False),
        pa.field("confirmed_at", TS, nullable=True),
    ]
)

AGGREGATE_SCHEMA = pa.schema(
    [
        pa.field("work_order_id", pa.string(), nullable=False),
        pa.field("line_id", pa.string(), nullable=False),
        pa.field("parent_sscc", pa.string(), nullable=False),  # SSCC-18 of the case or pallet
        pa.field("parent_level", pa.string(), nullable=False),  # 'case' | 'pallet'
        pa.field("child_level", pa.string(), nullable=False),  # 'item' | 'case'
        pa.field("child_gtin", pa.string(), nullable=True),  # items only
        pa.field("child_serial", pa.string(), nullable=True),  # items only
        pa.field("child_sscc", pa.string(), nullable=True),  # cases only
        pa.field("action", pa.string(), nullable=False),  # 'ADD' | 'DELETE'
        pa.field("parent_full", pa.bool_(), nullable=False),  # False = partial at batch end
        pa.field("aggregated_at", TS, nullable=False),
    ]
)


LINE_STATE_SCHEMA = pa.schema(
    [
        pa.field("work_order_id", pa.string(), nullable=False),
        pa.field("line_id", pa.string(), nullable=False),
        pa.field("from_state", pa.string(), nullable=False),  # PackML-style, see LINE_STATES
        pa.field("to_state", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("changed_at", TS, nullable=False),
    ]
)

METRICS_SCHEMA = pa.schema(
    [
        pa.field("work_order_id", pa.string(), nullable=False),
        pa.field("line_id", pa.string(), nullable=False),
        pa.field("measured_at", TS, nullable=False),
        pa.field("window_s", pa.float64(), nullable=False),  # seconds this row covers
        pa.field("printed", pa.int64(), nullable=False),  # cumulative counts
        pa.field("passed", pa.int64(), nullable=False),
        pa.field("rejected", pa.int64(), nullable=False),
        pa.field("units_per_minute", pa.float64(), nullable=False),  # over the window
        pa.field("camera_pass_rate", pa.float64(), nullable=True),  # cumulative
        pa.field("decision_p99_us", pa.int64(), nullable=True),  # over the window
        pa.field("rejects_by_cause", pa.string(), nullable=False),  # JSON {cause: n}, cumulative
        pa.field("grade_counts", pa.string(), nullable=False),  # JSON {grade: n}, cumulative
        pa.field("cases_closed", pa.int64(), nullable=False),  # cumulative
        pa.field("pallets_closed", pa.int64(), nullable=False),  # cumulative
    ]
)

# What the aggregation stations (case packer, palletizer) and label printers said and what
# the bridge made of it: a line with no stations writes no rows (an empty file).
STATION_SCHEMA = pa.schema(
    [
        pa.field("work_order_id", pa.string(), nullable=False),
        pa.field("line_id", pa.string(), nullable=False),
        pa.field("station_id", pa.string(), nullable=False),  # station or label printer
        pa.field("level", pa.string(), nullable=False),  # 'case' | 'pallet'
        pa.field("container", pa.int64(), nullable=True),  # the station's container number
        pa.field("event", pa.string(), nullable=False),  # see STATION_EVENTS
        pa.field("code", pa.string(), nullable=True),  # scan: the code read
        pa.field("count", pa.int64(), nullable=True),  # closed/refused: the station's count
        pa.field("sscc", pa.string(), nullable=True),  # closed, labelled: the parent's SSCC
        pa.field("reason", pa.string(), nullable=True),  # refused, label_failed: why
        pa.field("recorded_at", TS, nullable=False),
    ]
)

# The second inspection point: the case camera's reading of each labelled case's SSCC
# label, stored against the SSCC (a line without a case camera writes an empty file).
CASE_INSPECT_SCHEMA = pa.schema(
    [
        pa.field("work_order_id", pa.string(), nullable=False),
        pa.field("line_id", pa.string(), nullable=False),
        pa.field("camera_id", pa.string(), nullable=False),
        pa.field("sscc", pa.string(), nullable=False),  # the case inspected (SSCC-18)
        pa.field("decoded_payload", pa.string(), nullable=True),  # null = nothing decoded
        pa.field("grade", pa.string(), nullable=True),  # ISO/IEC 15415 letter A-F
        pa.field("grade_value", pa.float64(), nullable=True),
        pa.field("readable", pa.bool_(), nullable=False),
        pa.field("outcome", pa.string(), nullable=False),  # 'pass' | 'fail'
        pa.field("cause", pa.string(), nullable=True),  # CASE_INSPECT_CAUSES; null on pass
        pa.field("inspected_at", TS, nullable=False),
        pa.field("decision_latency_us", pa.int64(), nullable=False),
    ]
)

STREAMS: dict[str, pa.Schema] = {
    "print": PRINT_SCHEMA,
    "inspect": INSPECT_SCHEMA,
    "reject": REJECT_SCHEMA,
    "aggregate": AGGREGATE_SCHEMA,
    "line_state": LINE_STATE_SCHEMA,
    "metrics": METRICS_SCHEMA,
    "station": STATION_SCHEMA,
    "case_inspect": CASE_INSPECT_SCHEMA,
}

# Bridge bookkeeping journaled but never turned into Parquet: the print commands sent,
# so that after a crash no serial is ever sent to a printer twice.
JOURNAL_ONLY = ("print_command",)

REJECT_CAUSES = (
    "wrong_data",
    "unreadable",
    "low_grade",
    "timeout",
    "duplicate",
    "in_flight_at_stop",  # in flight when the line stopped or the bridge died: retired
)

LINE_STATES = ("idle", "starting", "execute", "held", "completing", "complete", "aborted")

STATION_EVENTS = (
    "scan",  # the station read a code into its open container
    "closed",  # the station closed a container and the bridge aggregated it (sscc)
    "refused",  # the station closed a container the bridge refused (reason): diverted
    "diverted",  # the station confirmed the refused container left the line
    "labelled",  # the label printer printed the SSCC label of the container
    "label_failed",  # the label printer could not print a good label (reason): reprinted
    # while reprints are left, else the line holds
    "case_rejected",  # the case camera pushed a failed case off the line (sscc, reason):
    # its aggregation is undone (aggregate DELETE rows), its items loose for rework
)

CASE_INSPECT_CAUSES = ("unreadable", "wrong_data", "low_grade", "timeout")
