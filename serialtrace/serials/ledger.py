"""The issued-serial ledger: an embedded, transactional SQLite store.

Why it is safe: every allocation runs inside one ``BEGIN IMMEDIATE`` transaction
(a write lock taken before anything is read), serials are inserted into a table whose
primary key is ``(pool_id, serial)``, and the transaction is committed with
``synchronous=FULL`` in WAL mode before any serial is handed out. Two processes that
allocate at once are serialised by the lock; a crash before the commit leaves nothing
issued, a crash after it leaves the serials issued (and never issued again, since the
ledger is not part of the rebuildable warehouse).
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from serialtrace.errors import SerialtraceError, ValidationError

NUMERIC = "0123456789"
ALPHANUMERIC = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I / O: easy to read back

_SCHEMA = """
create table if not exists pools (
    pool_id      text primary key,
    gtin         text not null,
    market       text not null,
    length       integer not null check (length between 1 and 20),
    alphabet     text not null,
    randomized   integer not null,
    created_at   text not null
);
create table if not exists issued (
    pool_id       text not null references pools(pool_id),
    serial        text not null,
    work_order_id text not null,
    issued_at     text not null,
    primary key (pool_id, serial)
) without rowid;
create table if not exists sequences (
    name       text primary key,
    next_value integer not null
);
"""


class PoolExhaustedError(SerialtraceError):
    """A request for serials cannot be met by the pool."""


@dataclass(frozen=True, slots=True)
class Pool:
    pool_id: str
    gtin: str
    market: str
    length: int
    alphabet: str
    randomized: bool

    @property
    def space(self) -> int:
        """How many distinct serials the pool can ever issue."""
        return int(len(self.alphabet) ** self.length)


class SerialLedger:
    """Durable pools and issued serials in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=60)
        self._conn.execute("pragma journal_mode=wal")
        self._conn.execute("pragma synchronous=full")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SerialLedger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("begin immediate")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("rollback")
            raise
        self._conn.execute("commit")

    def ensure_pool(self, pool: Pool) -> Pool:
        """Create the pool, or check that an existing pool of that id has the same rules."""
        if not 1 <= pool.length <= 20:
            raise ValidationError("length", "serials are 1 to 20 characters long")
        if len(set(pool.alphabet)) != len(pool.alphabet) or not pool.alphabet:
            raise ValidationError("alphabet", "must be a non-empty set of distinct characters")
        with self._transaction() as conn:
            row = conn.execute(
                "select gtin, market, length, alphabet, randomized from pools where pool_id = ?",
                (pool.pool_id,),
            ).fetchone()
            if row is None:
                conn.execute(
                    "insert into pools values (?, ?, ?, ?, ?, ?, ?)",
                    (
                        pool.pool_id,
                        pool.gtin,
                        pool.market,
                        pool.length,
                        pool.alphabet,
                        int(pool.randomized),
                        _now(),
                    ),
                )
                return pool
        existing = Pool(pool.pool_id, row[0], row[1], row[2], row[3], bool(row[4]))
        if existing != pool:
            raise ValidationError("pool", f"{pool.pool_id} exists with other rules")
        return existing

    def issued_count(self, pool_id: str) -> int:
        row = self._conn.execute("select count(*) from issued where pool_id = ?", (pool_id,))
        count: int = row.fetchone()[0]
        return count

    def allocate(self, pool: Pool, count: int, work_order_id: str) -> list[str]:
        """Issue ``count`` new serials from ``pool`` to a work order, atomically and durably."""
        if count <= 0:
            raise ValidationError("count", "must be a positive number of serials")
        with self._transaction() as conn:
            issued = int(
                conn.execute(
                    "select count(*) from issued where pool_id = ?", (pool.pool_id,)
                ).fetchone()[0]
            )
            remaining = pool.space - issued
            if count > remaining:
                raise PoolExhaustedError(
                    f"pool {pool.pool_id}: {count} serials requested, {remaining} left"
                )
            if pool.randomized and issued + count > pool.space // 10_000:
                raise PoolExhaustedError(
                    f"pool {pool.pool_id}: issuing {count} more would push the guessing "
                    "probability above 1 in 10,000"
                )
            stamp = _now()
            serials = (
                self._draw_random(conn, pool, count, work_order_id, stamp)
                if pool.randomized
                else self._draw_sequential(conn, pool, count, work_order_id, stamp)
            )
        return serials

    def _draw_random(
        self, conn: sqlite3.Connection, pool: Pool, count: int, work_order_id: str, stamp: str
    ) -> list[str]:
        chosen: list[str] = []
        seen: set[str] = set()
        alphabet, length = pool.alphabet, pool.length
        while len(chosen) < count:
            batch: list[str] = []
            while len(batch) < count - len(chosen):
                serial = "".join(secrets.choice(alphabet) for _ in range(length))
                if serial not in seen:
                    seen.add(serial)
                    batch.append(serial)
            taken = self._already_issued(conn, pool.pool_id, batch)
            fresh = [s for s in batch if s not in taken]
            # the write lock is held: nobody can issue these between the check and the insert
            conn.executemany(
                "insert into issued values (?, ?, ?, ?)",
                [(pool.pool_id, s, work_order_id, stamp) for s in fresh],
            )
            chosen.extend(fresh)
        return chosen

    @staticmethod
    def _already_issued(conn: sqlite3.Connection, pool_id: str, serials: list[str]) -> set[str]:
        taken: set[str] = set()
        for i in range(0, len(serials), 900):
            chunk = serials[i : i + 900]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"select serial from issued where pool_id = ? and serial in ({marks})",
                (pool_id, *chunk),
            )
            taken.update(r[0] for r in rows)
        return taken

    def _draw_sequential(
        self, conn: sqlite3.Connection, pool: Pool, count: int, work_order_id: str, stamp: str
    ) -> list[str]:
        start = self._next_sequence(conn, f"pool:{pool.pool_id}", count)
        serials = [
            _in_base(value, pool.alphabet, pool.length) for value in range(start, start + count)
        ]
        conn.executemany(
            "insert into issued values (?, ?, ?, ?)",
            [(pool.pool_id, s, work_order_id, stamp) for s in serials],
        )
        return serials

    def next_values(self, name: str, count: int) -> int:
        """Reserve ``count`` values of a named durable counter; returns the first one."""
        with self._transaction() as conn:
            return self._next_sequence(conn, name, count)

    @staticmethod
    def _next_sequence(conn: sqlite3.Connection, name: str, count: int) -> int:
        row = conn.execute("select next_value from sequences where name = ?", (name,)).fetchone()
        start = int(row[0]) if row else 0
        conn.execute(
            "insert into sequences values (?, ?) "
            "on conflict(name) do update set next_value = excluded.next_value",
            (name, start + count),
        )
        return start


def _in_base(value: int, alphabet: str, length: int) -> str:
    base = len(alphabet)
    digits = []
    for _ in range(length):
        value, rest = divmod(value, base)
        digits.append(alphabet[rest])
    if value:
        raise PoolExhaustedError("sequential pool has no values left")
    return "".join(reversed(digits))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
