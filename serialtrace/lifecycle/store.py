"""The raw lifecycle zone: append event files, read them back, replay them.

``<raw>/lifecycle/events/part-<name>.parquet`` (schema: :mod:`serialtrace.lifecycle.schema`).
Files are only ever added, each through :func:`serialtrace.io.parquet.write_atomic`, so a
reader sees a request whole or not at all. Writers hold :func:`writer_lock` while they
check the current status and write, so two requests on the same serial cannot both pass
the check.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from serialtrace.io.parquet import rows_to_table, write_atomic
from serialtrace.lifecycle.machine import IllegalTransitionError, Status, check_transition
from serialtrace.lifecycle.schema import LIFECYCLE_EVENT_SCHEMA

Row = dict[str, Any]


def events_dir(raw: Path) -> Path:
    return raw / "lifecycle" / "events"


@contextmanager
def writer_lock(raw: Path) -> Iterator[None]:
    """An exclusive advisory lock on the lifecycle zone (one writer at a time)."""
    folder = raw / "lifecycle"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def append_events(raw: Path, name: str, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write one new part file (possibly with zero rows); an existing name is an error."""
    path = events_dir(raw) / f"part-{name}.parquet"
    if path.exists():
        raise FileExistsError(path)
    return write_atomic(path, rows_to_table(rows, LIFECYCLE_EVENT_SCHEMA))


def read_events(raw: Path, keys: Iterable[tuple[str, str]] | None = None) -> list[Row]:
    """Every recorded event (of the given ``(gtin, serial)`` keys), in replay order."""
    files = sorted(events_dir(raw).glob("part-*.parquet"))
    if not files:
        return []
    with duckdb.connect() as con:
        sql = (
            "select * from read_parquet(?, union_by_name = true) "
            "order by occurred_at, recorded_at, event_id"
        )
        cursor = con.execute(sql, [[str(f) for f in files]])
        names = [d[0] for d in cursor.description or []]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if keys is None:
        return rows
    wanted = set(keys)
    return [row for row in rows if (row["gtin"], row["serial"]) in wanted]


def replay_events(
    start: Mapping[tuple[str, str], str], events: Iterable[Mapping[str, Any]]
) -> dict[tuple[str, str], tuple[str, str | None, datetime | None]]:
    """Current ``(status, reason, at)`` per serial: each serial's ``start`` status with the
    events applied in order. An event that is illegal at its point is skipped, as the
    warehouse does (``int_lifecycle_events_replayed``)."""
    current: dict[tuple[str, str], tuple[str, str | None, datetime | None]] = {
        key: (status, None, None) for key, status in start.items()
    }
    for event in events:
        key = (event["gtin"], event["serial"])
        if key not in current:
            continue
        status = current[key][0]
        try:
            check_transition(
                f"(01){key[0]}(21){key[1]}", status, event["to_status"], event["reason"]
            )
        except IllegalTransitionError:
            continue
        current[key] = (event["to_status"], event["reason"], event["occurred_at"])
    return current


__all__ = [
    "Status",
    "append_events",
    "events_dir",
    "read_events",
    "replay_events",
    "writer_lock",
]
