"""Parquet contract of lifecycle events written outside the line.

Files live under ``<home>/raw/lifecycle/events/part-<name>.parquet`` (no partitions), one
file per request (a decommissioning, a batch close), appended atomically and never
rewritten. One row per serial and status change. The warehouse (transforms/) reads only
this schema; docs/architecture.md lists it.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

LIFECYCLE_EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),  # UUID, one per row
        pa.field("request_id", pa.string(), nullable=False),  # UUID shared by one request
        pa.field("gtin", pa.string(), nullable=False),
        pa.field("serial", pa.string(), nullable=False),
        pa.field("work_order_id", pa.string(), nullable=False),  # the serial's batch record
        pa.field("from_status", pa.string(), nullable=False),  # status the writer checked
        pa.field("to_status", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=True),  # required for 'decommissioned'
        pa.field("scope", pa.string(), nullable=False),  # see SCOPES
        pa.field("scope_id", pa.string(), nullable=False),  # what the request named
        pa.field("location_gln", pa.string(), nullable=True),  # where it happened
        pa.field("recorded_by", pa.string(), nullable=False),  # user (or 'batch-close')
        pa.field("source", pa.string(), nullable=False),  # see SOURCES
        pa.field("occurred_at", TS, nullable=False),  # when it happened
        pa.field("recorded_at", TS, nullable=False),  # when it was written
    ]
)

#: serial: one unit ``(01)<GTIN>(21)<serial>``; case / pallet: everything inside the SSCC;
#: lot: every serial of ``(01)<GTIN>(10)<lot>``; work_order: a batch close.
SCOPES = ("serial", "case", "pallet", "lot", "work_order")
SOURCES = ("cli", "batch_close")

LIFECYCLE_TABLES: dict[str, pa.Schema] = {"events": LIFECYCLE_EVENT_SCHEMA}
