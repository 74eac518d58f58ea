"""Quarantine locks: which serials and containers an open alert case has locked.

The one place every other stage asks "may this identifier move / be answered as
legitimate?": shipping EPCIS refuses a locked identifier (naming the case), verification
answers *suspect*, dashboards show the lock. A lock is taken when a case opens and is
released only by the case's disposition; rows are never deleted, so the history of every
lock stays queryable.

Identifiers are keyed by their GS1 element string in bracket form, which needs no
company-prefix length: ``(01)<GTIN-14>(21)<serial>`` for a pack, ``(00)<SSCC>`` for a
case or pallet (see :func:`item_key`, :func:`container_key`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from serialtrace.io.sqlite import connect_wal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine_lock (
    identifier  TEXT NOT NULL,   -- (01)GTIN(21)serial or (00)SSCC
    case_id     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    locked_at   TEXT NOT NULL,   -- ISO 8601, UTC
    locked_by   TEXT NOT NULL,
    released_at TEXT,
    released_by TEXT,
    PRIMARY KEY (identifier, case_id)
);
CREATE INDEX IF NOT EXISTS quarantine_lock_active
    ON quarantine_lock (identifier) WHERE released_at IS NULL;
"""


def item_key(gtin: str, serial: str) -> str:
    """The lock key of one pack: ``(01)<GTIN-14>(21)<serial>``."""
    if len(gtin) != 14 or not gtin.isdigit():
        raise ValueError(f"GTIN must be 14 digits, got {gtin!r}")
    if not serial:
        raise ValueError("serial must not be empty")
    return f"(01){gtin}(21){serial}"


def container_key(sscc: str) -> str:
    """The lock key of one case or pallet: ``(00)<SSCC>``."""
    if len(sscc) != 18 or not sscc.isdigit():
        raise ValueError(f"SSCC must be 18 digits, got {sscc!r}")
    return f"(00){sscc}"


@dataclass(frozen=True)
class Lock:
    identifier: str
    case_id: str
    reason: str
    locked_at: str
    locked_by: str


class QuarantineLocks:
    """The lock table in the alerts database (SQLite, WAL, safe across processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect_wal(self.path)

    def lock(
        self,
        case_id: str,
        identifiers: Iterable[str],
        *,
        reason: str,
        user: str,
        at: datetime | None = None,
    ) -> int:
        """Lock identifiers for a case (all or none); returns how many were newly locked."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                added = lock_in(db, case_id, identifiers, reason=reason, user=user, at=at)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return added

    def release(self, case_id: str, *, user: str, at: datetime | None = None) -> int:
        """Release every active lock of a case; returns how many were released."""
        with self._connect() as db:
            return release_in(db, case_id, user=user, at=at)

    def active(self, identifiers: Iterable[str]) -> dict[str, Lock]:
        """The active lock (oldest case first) of each identifier that has one."""
        keys = list(dict.fromkeys(identifiers))
        found: dict[str, Lock] = {}
        with self._connect() as db:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in db.execute(
                    "SELECT identifier, case_id, reason, locked_at, locked_by"
                    f" FROM quarantine_lock WHERE released_at IS NULL AND identifier IN ({marks})"
                    " ORDER BY locked_at DESC, case_id DESC",
                    chunk,
                ):
                    found[row[0]] = Lock(*row)  # the last written (oldest) wins
        return found

    def case_for(self, identifier: str) -> str | None:
        """The case number holding this identifier, or None when it is not locked."""
        lock = self.active([identifier]).get(identifier)
        return lock.case_id if lock else None

    def all_active(self) -> list[Lock]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT identifier, case_id, reason, locked_at, locked_by FROM quarantine_lock"
                " WHERE released_at IS NULL ORDER BY case_id, identifier"
            ).fetchall()
        return [Lock(*row) for row in rows]


def lock_in(
    db: sqlite3.Connection,
    case_id: str,
    identifiers: Iterable[str],
    *,
    reason: str,
    user: str,
    at: datetime | None = None,
) -> int:
    """:meth:`QuarantineLocks.lock` inside the caller's open transaction on ``db`` (the alert
    store opens a case and locks its serials in one transaction)."""
    stamp = _iso(at)
    rows = [(i, case_id, reason, stamp, user) for i in dict.fromkeys(identifiers)]
    before = db.total_changes
    db.executemany(
        "INSERT OR IGNORE INTO quarantine_lock"
        " (identifier, case_id, reason, locked_at, locked_by) VALUES (?,?,?,?,?)",
        rows,
    )
    return db.total_changes - before


def release_in(
    db: sqlite3.Connection, case_id: str, *, user: str, at: datetime | None = None
) -> int:
    """:meth:`QuarantineLocks.release` inside the caller's transaction on ``db``."""
    cur = db.execute(
        "UPDATE quarantine_lock SET released_at = ?, released_by = ?"
        " WHERE case_id = ? AND released_at IS NULL",
        (_iso(at), user, case_id),
    )
    return cur.rowcount


def _iso(at: datetime | None) -> str:
    moment = at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("lock times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
