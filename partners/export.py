"""The delivery ledger exported to the raw zone for the warehouse (partner scorecard).

The ledger is mutable (a delivery moves from queued to sent to acknowledged), so the raw
zone holds a *snapshot*: ``<home>/raw/partners/deliveries/snapshot.parquet``, replaced
atomically on every export (``serialtrace partners export``, the Dagster drop and pickup
assets). Schema: :data:`DELIVERY_SCHEMA` (documented in docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pyarrow as pa

from partners.ledger import DeliveryLedger
from serialtrace.io.parquet import rows_to_table, write_atomic
from serialtrace.settings import Home

_TS = pa.timestamp("us", tz="UTC")
DELIVERY_SCHEMA = pa.schema(
    [
        pa.field("message_id", pa.string(), nullable=False),
        pa.field("direction", pa.string(), nullable=False),
        pa.field("partner_id", pa.string(), nullable=False),
        pa.field("transport", pa.string(), nullable=False),
        pa.field("file_name", pa.string(), nullable=False),
        pa.field("file_path", pa.string(), nullable=False),
        pa.field("content_sha256", pa.string(), nullable=False),
        pa.field("bytes", pa.int64(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("attempts", pa.int32(), nullable=False),
        pa.field("queued_at", _TS, nullable=False),
        pa.field("last_attempt_at", _TS, nullable=True),
        pa.field("sent_at", _TS, nullable=True),
        pa.field("acknowledged_at", _TS, nullable=True),
        pa.field("ack_deadline_at", _TS, nullable=True),
        pa.field("ack_kind", pa.string(), nullable=True),
        pa.field("ack_detail", pa.string(), nullable=True),
        pa.field("failure_reason", pa.string(), nullable=True),
        pa.field("exported_at", _TS, nullable=False),
    ]
)


def deliveries_snapshot_path(home: Home) -> Path:
    return home.raw / "partners" / "deliveries" / "snapshot.parquet"


def export_deliveries(home: Home) -> Path:
    """Write the whole ledger as one snapshot file; returns its path."""
    from partners.ledger import utcnow

    exported_at = utcnow()
    with DeliveryLedger(home.partners_ledger) as ledger:
        rows = []
        for delivery in ledger.deliveries():
            row = {k: v for k, v in asdict(delivery).items() if k in DELIVERY_SCHEMA.names}
            row["exported_at"] = exported_at
            rows.append(row)
    return write_atomic(deliveries_snapshot_path(home), rows_to_table(rows, DELIVERY_SCHEMA))
