"""The one way the stores open their SQLite file: autocommit (explicit BEGIN where a
store needs a transaction), WAL so readers never block the writer, and a 30 s busy
timeout so concurrent processes wait instead of failing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def connect_wal(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA busy_timeout=30000")
        yield db
    finally:
        db.close()
