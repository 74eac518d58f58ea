"""The bridge's write-ahead journal, and the Parquet parts made from it.

Every row of every stream is first appended to ``<raw>/line/_journal/work_order=<WO>/
<stream>.jsonl`` with one ``write`` system call on an ``O_APPEND`` descriptor, before the
bridge acts on it. What a process wrote survives ``kill -9`` (it is in the kernel's page
cache); ``fsync`` every ``fsync_every_s`` seconds and at every part makes it survive a power
loss too, up to that window.

Parquet parts are cut from the journal: a part file is named after the byte range of the
journal it holds (``part-<start>-<end>.parquet``) and appears atomically (temporary name,
fsync, rename). On restart, the journal beyond the highest ``end`` is cut into a new part,
so every journaled row reaches Parquet exactly once, whatever moment the process died at.
A torn last line (a crash inside a write) is never cut: only complete lines are.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from line_bridge.schemas import JOURNAL_ONLY, STREAMS
from serialtrace.errors import SerialtraceError
from serialtrace.io.parquet import write_atomic

PART = re.compile(r"^part-(\d{12})-(\d{12})\.parquet$")


def _default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot journal {type(value).__name__}")


def _parse_row(row: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    for field in schema:
        value = row.get(field.name)
        if value is not None and pa.types.is_timestamp(field.type):
            row[field.name] = datetime.fromisoformat(value)
    return row


class StreamJournal:
    """Append-only journal of one stream of one work order."""

    def __init__(self, raw_line: Path, stream: str, work_order_id: str) -> None:
        self.stream = stream
        self.schema = STREAMS.get(stream)
        self.path = raw_line / "_journal" / f"work_order={work_order_id}" / f"{stream}.jsonl"
        self.parts = raw_line / stream / f"work_order={work_order_id}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.pending = 0  # rows appended since the last part

    def append(self, *rows: dict[str, Any]) -> None:
        """Append rows with ONE write system call: after ``kill -9`` all of them are in the
        journal or none (a case's aggregation rows must never be half there)."""
        data = b"".join(
            json.dumps(row, default=_default, separators=(",", ":")).encode() + b"\n"
            for row in rows
        )
        written = os.write(self._fd, data)
        if written != len(data):  # only on a full disk: the torn tail is never cut
            raise OSError(f"journal {self.path}: short write ({written} of {len(data)} bytes)")
        self.pending += len(rows)

    def fsync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)

    def covered(self) -> int:
        """Journal bytes already in Parquet parts."""
        ends = [int(m.group(2)) for p in self._part_files() if (m := PART.match(p.name))]
        return max(ends, default=0)

    def _part_files(self) -> list[Path]:
        return sorted(self.parts.glob("part-*.parquet")) if self.parts.exists() else []

    def rows(self, start: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
        """Complete rows from byte ``start`` on, with the offset just past each."""
        with self.path.open("rb") as handle:
            handle.seek(start)
            offset = start
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # torn by a crash inside a write: never used
                offset += len(line)
                yield offset, json.loads(line)

    def cut_part(self, force: bool = False) -> int:
        """Write the journal beyond the covered range as a new part; rows written."""
        if self.schema is None:  # journal-only stream (bridge bookkeeping)
            return 0
        start = self.covered()
        rows: list[dict[str, Any]] = []
        end = start
        for offset, row in self.rows(start):
            rows.append(_parse_row(row, self.schema))
            end = offset
        if not rows and not (force and not self._part_files()):
            self.pending = 0
            return 0
        self.fsync()
        columns = {name: [r.get(name) for r in rows] for name in self.schema.names}
        table = pa.Table.from_pydict(columns, schema=self.schema)
        write_atomic(self.parts / f"part-{start:012d}-{end:012d}.parquet", table)
        self.pending = 0
        return len(rows)


class LineJournal:
    """The journals of every stream of one batch."""

    def __init__(
        self,
        raw_line: Path,
        work_order_id: str,
        line_id: str,
        part_rows: int = 20_000,
        fsync_every_s: float = 0.5,
    ) -> None:
        self.work_order_id = work_order_id
        self.line_id = line_id
        self.part_rows = part_rows
        self.fsync_every_s = fsync_every_s
        self._last_fsync = time.monotonic()
        # one writer per batch (a bridge, or a rework command): an advisory lock the
        # kernel releases when the process dies, even by kill -9
        folder = raw_line / "_journal" / f"work_order={work_order_id}"
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            raise SerialtraceError(
                f"work order {work_order_id} is in use by another process "
                "(a running line bridge or rework)"
            ) from None
        self.streams = {
            name: StreamJournal(raw_line, name, work_order_id) for name in (*STREAMS, *JOURNAL_ONLY)
        }

    def recover(self) -> None:
        """Cut every journaled row not yet in Parquet into parts (after a crash)."""
        for journal in self.streams.values():
            journal.cut_part()

    def write(self, stream: str, *rows: dict[str, Any]) -> None:
        for row in rows:
            row["work_order_id"] = self.work_order_id
            row["line_id"] = self.line_id
        journal = self.streams[stream]
        journal.append(*rows)
        if journal.pending >= self.part_rows:
            journal.cut_part()
        now = time.monotonic()
        if now - self._last_fsync >= self.fsync_every_s:
            for j in self.streams.values():
                j.fsync()
            self._last_fsync = now

    def history(self, stream: str) -> Iterator[dict[str, Any]]:
        """Every row ever journaled for ``stream`` (for restart bookkeeping)."""
        for _, row in self.streams[stream].rows(0):
            yield row

    def close(self) -> None:
        """Cut the rest into parts; every stream ends with at least one file."""
        for journal in self.streams.values():
            journal.cut_part(force=True)
            journal.fsync()
            journal.close()
        os.close(self._lock)  # releases the lock
