"""The verification query log: every query (incoming and outgoing), append-only.

Journal first: each process appends one JSON line per query to its own segment
``<home>/verification/journal/<pid>-<start>.open.jsonl`` (written to the OS at once, fsync'd
by a background thread at most ``fsync_interval`` seconds later and when the segment is
sealed). Segments are sealed (renamed ``.sealed.jsonl``) on rotation and shutdown; a segment
left open by a process that is gone is sealed by the next flush. :func:`flush_journal` turns
every sealed segment into one Parquet file
``<home>/raw/verification/queries/part-<segment>.parquet``
(same name every time, so a flush interrupted after the write is finished by the next one)
and only then deletes the segment. Nothing is ever rewritten or deleted from the raw zone.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from serialtrace.io.parquet import rows_to_table, write_atomic

__all__ = ["QUERY_LOG_SCHEMA", "QueryJournal", "flush_journal", "journal_dir", "raw_dir"]

TS = pa.timestamp("us", tz="UTC")

QUERY_LOG_SCHEMA: Final = pa.schema(
    [
        pa.field("query_id", pa.string(), nullable=False),
        pa.field("logged_at", TS, nullable=False),
        pa.field("direction", pa.string(), nullable=False),  # incoming | outgoing
        pa.field("requestor_key_id", pa.string(), nullable=True),
        pa.field("requestor_partner", pa.string(), nullable=True),
        pa.field("requestor_gln", pa.string(), nullable=True),
        pa.field("client_company_id", pa.string(), nullable=True),
        pa.field("responder_gln", pa.string(), nullable=True),
        pa.field("responder_url", pa.string(), nullable=True),
        pa.field("correlation_id", pa.string(), nullable=True),
        pa.field("context", pa.string(), nullable=True),
        pa.field("request_form", pa.string(), nullable=False),
        pa.field("request_text", pa.string(), nullable=False),
        pa.field("http_status", pa.int32(), nullable=False),
        pa.field("outcome", pa.string(), nullable=False),
        pa.field("verified", pa.bool_(), nullable=True),
        pa.field("reason_code", pa.string(), nullable=True),
        pa.field("additional_info", pa.string(), nullable=True),
        pa.field("error_field", pa.string(), nullable=True),
        pa.field("error_detail", pa.string(), nullable=True),
        pa.field("gtin", pa.string(), nullable=True),
        pa.field("serial", pa.string(), nullable=True),
        pa.field("lot", pa.string(), nullable=True),
        pa.field("expiry", pa.string(), nullable=True),
        pa.field("product_name", pa.string(), nullable=True),
        pa.field("company_id", pa.string(), nullable=True),
        pa.field("index_status", pa.string(), nullable=True),
        pa.field("latency_us", pa.int64(), nullable=False),
    ]
)

#: Outcomes (column ``outcome``).
OUTCOMES: Final = (
    "verified",
    "not_verified",
    "bad_request",
    "unauthenticated",
    "forbidden",
    "not_found",
    "upstream_error",
    "error",
)


def journal_dir(home_root: Path) -> Path:
    return home_root / "verification" / "journal"


def raw_dir(home_root: Path) -> Path:
    return home_root / "raw" / "verification" / "queries"


class QueryJournal:
    """Append-only journal of this process (thread-safe)."""

    def __init__(
        self, home_root: Path, *, fsync_interval: float = 0.05, rotate_seconds: float = 300.0
    ) -> None:
        self.folder = journal_dir(home_root)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fsync_interval = fsync_interval
        self.rotate_seconds = rotate_seconds
        self._lock = threading.Lock()
        self._dirty = False
        self._closed = False
        self._open_segment()
        self._syncer = threading.Thread(target=self._sync_loop, name="journal-fsync", daemon=True)
        self._syncer.start()

    def _open_segment(self) -> None:
        name = f"{os.getpid()}-{time.time_ns()}"
        self._path = self.folder / f"{name}.open.jsonl"
        self._handle = self._path.open("a", encoding="utf-8")
        self._opened = time.monotonic()

    def _seal_segment(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        empty = self._path.stat().st_size == 0
        if empty:
            self._path.unlink()
        else:
            self._path.rename(self._path.with_name(self._path.name.replace(".open.", ".sealed.")))

    def append(self, row: Mapping[str, Any]) -> None:
        line = json.dumps(row, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"
        with self._lock:
            if self._closed:
                raise RuntimeError("query journal is closed")
            self._handle.write(line)
            self._handle.flush()  # in the OS now: a crash of this process loses nothing
            self._dirty = True
            if time.monotonic() - self._opened >= self.rotate_seconds:
                self._seal_segment()
                self._open_segment()
                self._dirty = False

    def rotate(self) -> None:
        """Seal the current segment (so a flush picks it up) and start a new one."""
        with self._lock:
            if not self._closed:
                self._seal_segment()
                self._open_segment()
                self._dirty = False

    def _sync_loop(self) -> None:
        while True:
            time.sleep(self.fsync_interval)
            with self._lock:
                if self._closed:
                    return
                if not self._dirty:
                    continue
                self._dirty = False
                fd = os.dup(self._handle.fileno())  # fsync outside the lock: appends go on
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._seal_segment()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _row_for_parquet(raw: dict[str, Any]) -> dict[str, Any]:
    row = {name: raw.get(name) for name in QUERY_LOG_SCHEMA.names}
    row["logged_at"] = dt.datetime.fromisoformat(str(raw["logged_at"]))
    return row


def flush_journal(home_root: Path) -> int:
    """Move every sealed journal segment into the raw zone; returns the rows written."""
    folder = journal_dir(home_root)
    if not folder.is_dir():
        return 0
    with (folder / ".flush.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one flusher at a time, across processes
        return _flush_locked(home_root, folder)


def _flush_locked(home_root: Path, folder: Path) -> int:
    for stale in folder.glob("*.open.jsonl"):
        pid = int(stale.name.split("-", 1)[0])
        if pid != os.getpid() and not _alive(pid):
            stale.rename(stale.with_name(stale.name.replace(".open.", ".sealed.")))
    written = 0
    for segment in sorted(folder.glob("*.sealed.jsonl")):
        target = raw_dir(home_root) / f"part-{segment.name.split('.', 1)[0]}.parquet"
        if not target.exists():
            rows = []
            with segment.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if not line.endswith("\n"):
                        break  # a torn last line of a crashed writer: never acknowledged
                    try:
                        rows.append(_row_for_parquet(json.loads(line)))
                    except (ValueError, KeyError) as exc:
                        raise ValueError(
                            f"{segment}: line {number} is not a query row: {exc}"
                        ) from exc
            if rows:
                write_atomic(target, rows_to_table(rows, QUERY_LOG_SCHEMA))
                written += len(rows)
        segment.unlink()
    return written
