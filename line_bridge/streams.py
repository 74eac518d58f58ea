"""Buffered writers of the raw line streams (schemas in line_bridge/schemas.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from line_bridge.schemas import STREAMS
from serialtrace.io.parquet import rows_to_table, write_atomic


class StreamWriter:
    """Appends rows of one stream for one work order; each flush is a new part file."""

    def __init__(self, raw_line: Path, stream: str, work_order_id: str, flush_rows: int) -> None:
        self.schema = STREAMS[stream]
        self.folder = raw_line / stream / f"work_order={work_order_id}"
        self.flush_rows = flush_rows
        self._rows: list[dict[str, Any]] = []
        self._part = len(list(self.folder.glob("part-*.parquet"))) if self.folder.exists() else 0
        self._files = 0
        self.rows_written = 0

    def append(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if not self._rows and self._files:
            return
        write_atomic(
            self.folder / f"part-{self._part:05d}.parquet", rows_to_table(self._rows, self.schema)
        )
        self.rows_written += len(self._rows)
        self._part += 1
        self._files += 1
        self._rows = []

    def close(self) -> None:
        """Flush what is left; a stream always has at least one (possibly empty) file."""
        if self._rows or not self._files:
            self.flush()


class LineStreams:
    """The four stream writers of one batch, with the work-order and line columns filled."""

    def __init__(self, raw_line: Path, work_order_id: str, line_id: str, flush_rows: int = 5000):
        self.work_order_id = work_order_id
        self.line_id = line_id
        self.writers = {
            name: StreamWriter(raw_line, name, work_order_id, flush_rows) for name in STREAMS
        }

    def write(self, stream: str, row: dict[str, Any]) -> None:
        row["work_order_id"] = self.work_order_id
        row["line_id"] = self.line_id
        self.writers[stream].append(row)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
