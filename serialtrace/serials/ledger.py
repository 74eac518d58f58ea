"""The issued-serial ledger: pools and every serial ever issued, in one SQLite file.

Why it is safe (details in docs/serials.md):

* **one transaction per allocation or import**: ``BEGIN IMMEDIATE`` takes the database's
  write lock before anything is read, so two processes that allocate at once are
  serialised; the pool's counters, the allocation record and the serials are written
  together and committed (WAL, ``synchronous=FULL``: the commit is on disk) before a
  single serial is handed out. A crash before the commit leaves nothing issued; after
  it, everything issued is durable.
* **one row per (GTIN, serial)**: the table ``serials`` has the primary key
  ``(gtin_no, serial)``, so the same serial can exist only once per GTIN, whatever the
  pool, market or client; a second issue is impossible, not just unlikely.
* **not part of the warehouse**: the ledger is its own file in the home folder; a rebuild
  of the warehouse never touches it.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import overload

from serialtrace.acting import acting_name
from serialtrace.errors import SerialtraceError, ValidationError
from serialtrace.gs1.charset import CSET82, validate_cset82
from serialtrace.gs1.keys import normalize_gtin

__all__ = [
    "ALPHANUMERIC",
    "CSET82_ALPHABET",
    "NUMERIC",
    "Allocation",
    "ImportReport",
    "PackedSerials",
    "Pool",
    "PoolExhaustedError",
    "PoolUsage",
    "Rejection",
    "SerialLedger",
    "decode_index",
    "encode_index",
]

NUMERIC = "0123456789"
ALPHANUMERIC = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I / O: easy to read back
CSET82_ALPHABET = "".join(sorted(CSET82))
SCHEMA_VERSION = 1
CHUNK = 1 << 20  # serials per insert statement in a large allocation

_SCHEMA = """
create table if not exists gtins (
    gtin_no integer primary key,
    gtin    text not null unique
);
create table if not exists pools (
    pool_no    integer primary key,
    pool_id    text not null unique,
    client     text not null,
    gtin       text not null,
    market     text not null,
    mode       text not null check (mode in ('randomized', 'sequential', 'imported')),
    length     integer not null check (length between 1 and 20),
    alphabet   text not null,
    prefix     text not null,
    first      text,
    last       text,
    warn_below real not null,
    max_guess_probability real not null,
    issued     integer not null default 0,
    imported   integer not null default 0,
    created_at text not null,
    unique (client, gtin, market)
);
create table if not exists allocations (
    alloc_no      integer primary key,
    pool_no       integer not null references pools(pool_no),
    work_order_id text not null,
    count         integer not null,
    issued_at     text not null
);
create index if not exists allocations_by_pool on allocations(pool_no, issued_at);
create table if not exists serials (
    gtin_no  integer not null,
    serial   text not null,
    pool_no  integer not null,
    alloc_no integer,            -- null: imported into the pool, not issued yet
    primary key (gtin_no, serial)
) without rowid;
create table if not exists import_queue (
    pool_no integer not null,
    seq     integer not null,
    serial  text not null,
    primary key (pool_no, seq)
) without rowid;
create table if not exists imports (
    import_no   integer primary key,
    pool_no     integer not null,
    source      text not null,
    count       integer not null,
    imported_at text not null
);
create table if not exists sequences (
    name       text primary key,
    next_value integer not null
);
"""


class PoolExhaustedError(SerialtraceError):
    """A request for serials cannot be met by the pool."""


@dataclass(frozen=True, slots=True)
class Pool:
    """A pool of serials for one (client, GTIN, market).

    ``randomized`` pools draw uniformly from every string of ``length`` characters of
    ``alphabet`` that starts with ``prefix``, up to ``max_guess_probability`` of that space;
    sequential pools count from ``first`` to ``last``; ``imported`` pools hand out serials
    imported from an external list, in import order (``length`` is then the maximum).
    """

    pool_id: str
    gtin: str
    market: str
    length: int
    alphabet: str
    randomized: bool
    client: str = "default"
    imported: bool = False
    prefix: str = ""
    first: str | None = None
    last: str | None = None
    warn_below: float = 0.2
    max_guess_probability: float = 1e-4

    @property
    def mode(self) -> str:
        if self.imported:
            return "imported"
        return "randomized" if self.randomized else "sequential"

    @property
    def space(self) -> int:
        """How many distinct serials the pool could ever hold (its random or counted range)."""
        base = len(self.alphabet)
        if self.mode == "randomized":
            return int(base ** (self.length - len(self.prefix)))
        if self.mode == "sequential":
            first, last = self.bounds
            return decode_index(last, self.alphabet) - decode_index(first, self.alphabet) + 1
        return sum(int(base**n) for n in range(1, self.length + 1))

    @property
    def bounds(self) -> tuple[str, str]:
        """Lowest and highest serial of the pool's range (string order = number order)."""
        low, high = self.alphabet[0], self.alphabet[-1]
        if self.mode == "sequential":
            return (
                self.first or low * self.length,
                self.last or high * self.length,
            )
        rest = self.length - len(self.prefix)
        return self.prefix + low * rest, self.prefix + high * rest

    @property
    def random_capacity(self) -> int:
        """Most serials a randomized pool may issue: issued / space stays at or below the cap."""
        return math.floor(self.space * self.max_guess_probability * (1 + 1e-12))

    def normalized(self) -> Pool:
        """The pool with its rules checked; the GTIN as GTIN-14, the alphabet sorted, the
        range of a sequential pool explicit."""
        if not _ID_CHARS.issuperset(self.pool_id) or not 1 <= len(self.pool_id) <= 80:
            raise ValidationError("pool", "pool ids are 1-80 of A-Z a-z 0-9 . _ -")
        if not self.client or not _ID_CHARS.issuperset(self.client) or len(self.client) > 40:
            raise ValidationError("client", "client ids are 1-40 of A-Z a-z 0-9 . _ -")
        if not self.market or not _ID_CHARS.issuperset(self.market) or len(self.market) > 32:
            raise ValidationError("market", "market ids are 1-32 of A-Z a-z 0-9 . _ -")
        if not 1 <= self.length <= 20:
            raise ValidationError("length", "serials are 1 to 20 characters long")
        alphabet = "".join(sorted(self.alphabet))
        if len(alphabet) < 2 or len(set(alphabet)) != len(alphabet):
            raise ValidationError("alphabet", "must be at least 2 distinct characters")
        if not CSET82.issuperset(alphabet):
            raise ValidationError("alphabet", "characters must be in the GS1 AI encodable set 82")
        if not 0 < self.max_guess_probability <= 1e-4:
            raise ValidationError("max_guess_probability", "must be above 0 and at most 1e-4")
        if not 0 <= self.warn_below < 1:
            raise ValidationError("warn_below", "must be a share from 0 to below 1")
        pool = replace(self, gtin=normalize_gtin(self.gtin), alphabet=alphabet)
        if self.imported and (self.prefix or self.first or self.last):
            raise ValidationError("pool", "an imported pool has no prefix or range")
        if self.mode == "randomized":
            if self.first or self.last:
                raise ValidationError("first", "a randomized pool takes a prefix, not a range")
            if not set(self.prefix) <= set(alphabet) or len(self.prefix) >= self.length:
                raise ValidationError(
                    "prefix", "must be shorter than the length and use the pool's alphabet"
                )
            if pool.random_capacity < 1:
                raise ValidationError(
                    "length",
                    f"space of {pool.space:,} serials is too small to issue any at a "
                    f"guessing probability of at most {self.max_guess_probability:g}",
                )
        if self.mode == "sequential":
            if self.prefix:
                raise ValidationError("prefix", "a sequential pool takes --first/--last")
            first, last = pool.bounds
            for name, value in (("first", first), ("last", last)):
                if len(value) != self.length or not set(value) <= set(alphabet):
                    raise ValidationError(
                        name, f"must be {self.length} characters of the pool's alphabet"
                    )
            if first > last:
                raise ValidationError("last", "must not come before first")
            pool = replace(pool, first=first, last=last)
        return pool


_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def decode_index(serial: str, alphabet: str) -> int:
    """The number a fixed-length serial stands for in its (sorted) alphabet."""
    base = len(alphabet)
    if base <= 36:
        return int(serial.translate(_to_digits(alphabet)), base)
    value = 0
    position = {c: i for i, c in enumerate(alphabet)}
    for char in serial:
        value = value * base + position[char]
    return value


def encode_index(value: int, alphabet: str, length: int) -> str:
    """The fixed-length serial for a number (the inverse of :func:`decode_index`)."""
    base = len(alphabet)
    if base == 10:
        text = f"{value:0{length}d}"
        if len(text) > length:
            raise PoolExhaustedError("sequential pool has no values left")
        return text
    digits = []
    for _ in range(length):
        value, rest = divmod(value, base)
        digits.append(alphabet[rest])
    if value:
        raise PoolExhaustedError("sequential pool has no values left")
    return "".join(reversed(digits))


@lru_cache(maxsize=32)
def _to_digits(alphabet: str) -> dict[int, int]:
    return str.maketrans(alphabet, "0123456789abcdefghijklmnopqrstuvwxyz"[: len(alphabet)])


@lru_cache(maxsize=32)
def _byte_tables(alphabet: str) -> tuple[bytes, bytes]:
    """Translation table byte → character and the bytes to drop (rejection sampling: a
    byte is kept only below the largest multiple of the alphabet size, so every
    character is exactly equally likely)."""
    size = len(alphabet)
    limit = 256 - 256 % size
    table = bytes(ord(alphabet[b % size]) if b < limit else 0 for b in range(256))
    return table, bytes(range(limit, 256))


def random_text(alphabet: str, characters: int) -> str:
    """``characters`` characters, each drawn uniformly and independently from ``alphabet``
    with the operating system's CSPRNG (``os.urandom``), in bulk."""
    table, drop = _byte_tables(alphabet)
    keep = 256 - len(drop)
    parts: list[bytes] = []
    have = 0
    while have < characters:
        want = characters - have
        chunk = os.urandom(want * 256 // keep + want // 64 + 64).translate(table, drop)
        parts.append(chunk)
        have += len(chunk)
    data = parts[0] if len(parts) == 1 else b"".join(parts)
    return data[:characters].decode("ascii")


class PackedSerials(Sequence[str]):
    """Fixed-length serials kept as one string (a few bytes per serial instead of a
    Python object each); behaves as a read-only list."""

    __slots__ = ("_prefix", "_text", "_width")

    def __init__(self, text: str, width: int, prefix: str = "") -> None:
        self._text, self._width, self._prefix = text, width, prefix

    def __len__(self) -> int:
        return len(self._text) // self._width

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError(index)
        start = index * self._width
        return self._prefix + self._text[start : start + self._width]

    def __iter__(self) -> Iterator[str]:
        text, width, prefix = self._text, self._width, self._prefix
        for start in range(0, len(text), width):
            yield prefix + text[start : start + width]


@dataclass(frozen=True)
class Allocation:
    """Serials issued to a work order by one committed transaction."""

    alloc_no: int
    pool_id: str
    work_order_id: str
    serials: Sequence[str]
    issued_at: str
    issued_total: int  # issued from the pool after this allocation
    capacity: int
    warn_below: float

    @property
    def remaining(self) -> int:
        return self.capacity - self.issued_total

    @property
    def low(self) -> bool:
        """The pool is at or below its warning threshold."""
        return self.remaining <= self.capacity * self.warn_below


@dataclass(frozen=True)
class Rejection:
    line: int
    value: str
    reason: str


@dataclass
class ImportReport:
    pool_id: str
    source: str
    lines: int = 0
    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    committed: bool = False


@dataclass(frozen=True)
class PoolUsage:
    pool: Pool
    issued: int
    imported: int
    capacity: int
    space: int
    allocations: int
    rate_per_day: float | None  # recent allocation rate
    runs_out_on: date | None  # burn-down forecast at that rate

    @property
    def remaining(self) -> int:
        return self.capacity - self.issued

    @property
    def guess_probability(self) -> float:
        """Chance that one guessed serial of the pool's space is a valid (issued) one."""
        return self.issued / self.space if self.space else 0.0

    @property
    def low(self) -> bool:
        return self.remaining <= self.capacity * self.pool.warn_below


class SerialLedger:
    """Durable pools and issued serials in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            path, isolation_level=None, timeout=60, check_same_thread=False
        )
        self._conn.execute("pragma journal_mode=wal")
        self._conn.execute("pragma synchronous=full")
        self._conn.execute("pragma cache_size=-262144")  # up to 256 MiB for big allocations
        self._conn.execute("pragma foreign_keys=on")
        with self._transaction() as conn:
            version = int(conn.execute("pragma user_version").fetchone()[0])
            if version < SCHEMA_VERSION:
                legacy = conn.execute(
                    "select 1 from sqlite_master where name = 'issued' and type = 'table'"
                ).fetchone()
                if legacy:
                    conn.execute("alter table pools rename to pools_v0")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                if legacy:
                    _migrate_v0(conn)
                conn.execute(f"pragma user_version = {SCHEMA_VERSION}")
            columns = {r[1] for r in conn.execute("pragma table_info(allocations)")}
            if "issued_by" not in columns:  # the acting user of each allocation (acting.py)
                conn.execute(
                    "alter table allocations add column issued_by text not null default ''"
                )

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

    # -- pools ------------------------------------------------------------------------

    def ensure_pool(self, pool: Pool) -> Pool:
        """Create the pool, or check that an existing pool of that id has the same rules.

        Refused: a second pool for the same (client, GTIN, market), and a pool whose range
        overlaps another pool's range for the same GTIN (same length, intersecting
        ``bounds``), or holds serials already in the ledger for that GTIN.
        """
        pool = pool.normalized()
        with self._transaction() as conn:
            existing = self._pool_or_none(conn, pool.pool_id)
            if existing is not None:
                if replace(existing, warn_below=pool.warn_below) != pool:
                    raise ValidationError("pool", f"{pool.pool_id} exists with other rules")
                return existing
            for other in self._pools(conn, gtin=pool.gtin):
                if (other.client, other.market) == (pool.client, pool.market):
                    raise ValidationError(
                        "pool",
                        f"{other.pool_id} is already the pool of client {pool.client}, "
                        f"GTIN {pool.gtin}, market {pool.market}",
                    )
                if _overlap(pool, other):
                    low, high = other.bounds
                    raise ValidationError(
                        "pool",
                        f"range {'..'.join(pool.bounds)} overlaps pool {other.pool_id} "
                        f"({low}..{high}) for GTIN {pool.gtin}",
                    )
            if pool.mode != "imported":
                low, high = pool.bounds
                taken = conn.execute(
                    "select serial from serials where gtin_no = ? and serial between ? and ? "
                    "and length(serial) = ? limit 1",
                    (self._gtin_no(conn, pool.gtin), low, high, pool.length),
                ).fetchone()
                if taken:
                    raise ValidationError(
                        "pool", f"range holds serial {taken[0]} already in the ledger"
                    )
            conn.execute(
                "insert into pools (pool_id, client, gtin, market, mode, length, alphabet, "
                "prefix, first, last, warn_below, max_guess_probability, created_at) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    pool.pool_id,
                    pool.client,
                    pool.gtin,
                    pool.market,
                    pool.mode,
                    pool.length,
                    pool.alphabet,
                    pool.prefix,
                    pool.first,
                    pool.last,
                    pool.warn_below,
                    pool.max_guess_probability,
                    _now(),
                ),
            )
        return pool

    def set_warning(self, pool_id: str, warn_below: float) -> None:
        if not 0 <= warn_below < 1:
            raise ValidationError("warn_below", "must be a share from 0 to below 1")
        with self._transaction() as conn:
            self._require_pool(conn, pool_id)
            conn.execute("update pools set warn_below = ? where pool_id = ?", (warn_below, pool_id))

    def get_pool(self, pool_id: str) -> Pool:
        return self._require_pool(self._conn, pool_id)

    def pools(self) -> list[Pool]:
        return self._pools(self._conn)

    def issued_count(self, pool_id: str) -> int:
        row = self._conn.execute("select issued from pools where pool_id = ?", (pool_id,))
        found = row.fetchone()
        return int(found[0]) if found else 0

    def issued_serials(self, pool_id: str) -> list[str]:
        """Every serial the pool has issued, in serial order (for audits)."""
        pool_no = self._pool_no(self._conn, pool_id)
        rows = self._conn.execute(
            "select serial from serials where pool_no = ? and alloc_no is not null order by serial",
            (pool_no,),
        )
        return [r[0] for r in rows]

    def usage(
        self, pool_id: str | None = None, now: datetime | None = None, window_days: int = 30
    ) -> list[PoolUsage]:
        """Usage, remaining capacity and a burn-down forecast of each pool: at the rate of
        the allocations of the last ``window_days``, the day the pool runs out."""
        now = now or datetime.now(UTC)
        since = (now - timedelta(days=window_days)).isoformat(timespec="microseconds")
        result = []
        for pool in self._pools(self._conn):
            if pool_id is not None and pool.pool_id != pool_id:
                continue
            pool_no, issued, imported = self._conn.execute(
                "select pool_no, issued, imported from pools where pool_id = ?",
                (pool.pool_id,),
            ).fetchone()
            count, total, earliest = self._conn.execute(
                "select (select count(*) from allocations where pool_no = ?), "
                "sum(count), min(issued_at) from allocations where pool_no = ? and issued_at >= ?",
                (pool_no, pool_no, since),
            ).fetchone()
            capacity = _capacity(pool, imported)
            rate = runs_out = None
            if total:
                span = max((now - datetime.fromisoformat(earliest)).total_seconds() / 86400, 1.0)
                rate = total / span
                days = (capacity - issued) / rate
                runs_out = (now + timedelta(days=min(days, 365_000))).date()
            result.append(
                PoolUsage(pool, issued, imported, capacity, pool.space, count, rate, runs_out)
            )
        if pool_id is not None and not result:
            raise ValidationError("pool", f"no pool {pool_id!r}")
        return result

    # -- allocation -------------------------------------------------------------------

    def allocate(self, pool: Pool | str, count: int, work_order_id: str | None = None) -> list[str]:
        """Issue ``count`` new serials from ``pool`` to a work order, atomically and durably."""
        return list(self.allocate_block(pool, count, work_order_id).serials)

    def allocate_block(
        self, pool: Pool | str, count: int, work_order_id: str | None = None
    ) -> Allocation:
        """:meth:`allocate`, returning the :class:`Allocation` (serials kept packed)."""
        if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
            raise ValidationError("count", "must be a positive number of serials")
        pool_id = pool if isinstance(pool, str) else pool.pool_id
        if work_order_id is not None:
            validate_cset82(work_order_id, "order", max_length=80)
        with self._transaction() as conn:
            stored = self._require_pool(conn, pool_id)
            if (
                isinstance(pool, Pool)
                and replace(stored, warn_below=pool.warn_below) != pool.normalized()
            ):
                raise ValidationError("pool", f"{pool_id} exists with other rules")
            pool_no, gtin_no, issued, imported = conn.execute(
                "select p.pool_no, g.gtin_no, p.issued, p.imported from pools p "
                "join gtins g on g.gtin = p.gtin where p.pool_id = ?",
                (pool_id,),
            ).fetchone()
            capacity = _capacity(stored, imported)
            remaining = capacity - issued
            if count > remaining:
                why = ""
                if stored.mode == "randomized":
                    why = (
                        " (the cap keeps the guessing probability at or below 1 in "
                        f"{1 / stored.max_guess_probability:,.0f})"
                    )
                elif stored.mode == "imported":
                    why = " (import more serials into the pool)"
                raise PoolExhaustedError(
                    f"pool {pool_id}: {count:,} serials requested, {remaining:,} left{why}"
                )
            stamp = _now()
            alloc_no = int(
                conn.execute(
                    "insert into allocations (pool_no, work_order_id, count, issued_at,"
                    " issued_by) values (?, ?, ?, ?, ?)",
                    (pool_no, work_order_id or "", count, stamp, acting_name("service")),
                ).lastrowid
                or 0
            )
            if work_order_id is None:
                work_order_id = f"ALLOC-{alloc_no:06d}"
                conn.execute(
                    "update allocations set work_order_id = ? where alloc_no = ?",
                    (work_order_id, alloc_no),
                )
            serials: Sequence[str]
            if stored.mode == "randomized":
                serials = _draw_random(conn, stored, gtin_no, pool_no, alloc_no, count)
            elif stored.mode == "sequential":
                serials = _draw_sequential(conn, stored, gtin_no, pool_no, alloc_no, issued, count)
            else:
                serials = _draw_imported(conn, gtin_no, pool_no, alloc_no, count)
            conn.execute("update pools set issued = issued + ? where pool_no = ?", (count, pool_no))
        return Allocation(
            alloc_no,
            pool_id,
            work_order_id,
            serials,
            stamp,
            issued + count,
            capacity,
            stored.warn_below,
        )

    # -- import -----------------------------------------------------------------------

    def import_serials(
        self,
        pool_id: str,
        lines: Iterable[str],
        source: str = "-",
        *,
        accept_valid: bool = False,
    ) -> ImportReport:
        """Import an external serial list into an imported pool, in one transaction.

        Every malformed line, duplicate (within the list or of a serial already in the
        ledger for the GTIN) and serial inside another pool's range is rejected and
        reported. By default any rejection refuses the whole list (nothing imported);
        with ``accept_valid`` the valid lines are imported and the others reported.
        """
        report = ImportReport(pool_id, source)
        with self._transaction() as conn:
            pool = self._require_pool(conn, pool_id)
            if pool.mode != "imported":
                raise ValidationError(
                    "pool", f"{pool_id} is {pool.mode}; import into an imported pool"
                )
            alphabet = set(pool.alphabet)
            others = [p for p in self._pools(conn, gtin=pool.gtin) if p.mode != "imported"]
            seen: dict[str, int] = {}
            candidates: list[tuple[int, str]] = []
            for number, raw in enumerate(lines, start=1):
                report.lines = number
                value = raw.strip()
                if not value:
                    continue
                reason = None
                try:
                    validate_cset82(value, "serial", max_length=pool.length)
                except ValidationError as exc:
                    reason = exc.rule
                if reason is None and not set(value) <= alphabet:
                    reason = "character outside the pool's alphabet"
                if reason is None and value in seen:
                    reason = f"duplicate of line {seen[value]}"
                if reason is None:
                    for other in others:
                        low, high = other.bounds
                        if len(value) == other.length and low <= value <= high:
                            reason = f"inside the range of pool {other.pool_id}"
                            break
                if reason is not None:
                    report.rejected.append(Rejection(number, value, reason))
                    continue
                seen[value] = number
                candidates.append((number, value))
            gtin_no = self._gtin_no(conn, pool.gtin)
            present = _existing(conn, gtin_no, [v for _, v in candidates])
            fresh = []
            for number, value in candidates:
                if value in present:
                    report.rejected.append(
                        Rejection(number, value, f"already in the ledger (pool {present[value]})")
                    )
                else:
                    fresh.append(value)
            report.rejected.sort(key=lambda r: r.line)
            report.accepted = len(fresh)
            if (report.rejected and not accept_valid) or not fresh:
                return report
            pool_no = self._pool_no(conn, pool_id)
            start = int(
                conn.execute(
                    "select coalesce(max(seq), 0) from import_queue where pool_no = ?", (pool_no,)
                ).fetchone()[0]
            )
            doc = json.dumps(fresh)
            conn.execute(
                "insert into serials (gtin_no, serial, pool_no, alloc_no) "
                "select ?, value, ?, null from json_each(?)",
                (gtin_no, pool_no, doc),
            )
            conn.execute(
                "insert into import_queue (pool_no, seq, serial) "
                "select ?, ? + key, value from json_each(?)",
                (pool_no, start + 1, doc),
            )
            conn.execute(
                "insert into imports (pool_no, source, count, imported_at) values (?, ?, ?, ?)",
                (pool_no, source, len(fresh), _now()),
            )
            conn.execute(
                "update pools set imported = imported + ? where pool_no = ?",
                (len(fresh), pool_no),
            )
            report.committed = True
        return report

    # -- durable counters -------------------------------------------------------------

    def next_values(self, name: str, count: int) -> int:
        """Reserve ``count`` values of a named durable counter; returns the first one."""
        with self._transaction() as conn:
            row = conn.execute("select next_value from sequences where name = ?", (name,))
            found = row.fetchone()
            start = int(found[0]) if found else 0
            conn.execute(
                "insert into sequences values (?, ?) "
                "on conflict(name) do update set next_value = excluded.next_value",
                (name, start + count),
            )
            return start

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    def _gtin_no(conn: sqlite3.Connection, gtin: str) -> int:
        conn.execute("insert or ignore into gtins (gtin) values (?)", (gtin,))
        return int(conn.execute("select gtin_no from gtins where gtin = ?", (gtin,)).fetchone()[0])

    @staticmethod
    def _pool_no(conn: sqlite3.Connection, pool_id: str) -> int:
        row = conn.execute("select pool_no from pools where pool_id = ?", (pool_id,)).fetchone()
        if row is None:
            raise ValidationError("pool", f"no pool {pool_id!r}")
        return int(row[0])

    def _require_pool(self, conn: sqlite3.Connection, pool_id: str) -> Pool:
        pool = self._pool_or_none(conn, pool_id)
        if pool is None:
            raise ValidationError("pool", f"no pool {pool_id!r}")
        return pool

    def _pool_or_none(self, conn: sqlite3.Connection, pool_id: str) -> Pool | None:
        pools = self._pools(conn, pool_id=pool_id)
        return pools[0] if pools else None

    @staticmethod
    def _pools(
        conn: sqlite3.Connection, *, pool_id: str | None = None, gtin: str | None = None
    ) -> list[Pool]:
        rows = conn.execute(
            "select pool_id, gtin, market, length, alphabet, mode, client, prefix, first, last, "
            "warn_below, max_guess_probability from pools "
            "where (?1 is null or pool_id = ?1) and (?2 is null or gtin = ?2) order by pool_id",
            (pool_id, gtin),
        )
        return [
            Pool(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5] == "randomized",
                client=r[6],
                imported=r[5] == "imported",
                prefix=r[7],
                first=r[8],
                last=r[9],
                warn_below=r[10],
                max_guess_probability=r[11],
            )
            for r in rows
        ]


def _capacity(pool: Pool, imported: int) -> int:
    if pool.mode == "randomized":
        return pool.random_capacity
    if pool.mode == "sequential":
        return pool.space
    return imported


def _overlap(a: Pool, b: Pool) -> bool:
    if a.mode == "imported" or b.mode == "imported" or a.length != b.length:
        return False
    (a_low, a_high), (b_low, b_high) = a.bounds, b.bounds
    return a_low <= b_high and b_low <= a_high


def _sorted_json_chunk(block: str, width: int, prefix: str, alphabet: str) -> tuple[str, int]:
    """The serials packed in ``block`` (``width`` characters each), sorted, as a JSON array.

    Vectorised with numpy: with the alphabet in ASCII order, each serial's value in base
    len(alphabet) sorts exactly like the string, so one integer argsort orders the chunk
    and the JSON text is assembled as a byte matrix. Falls back to Python for serials
    whose value does not fit 63 bits or that need JSON escaping.
    """
    size = len(block) // width
    if '"' in alphabet or "\\" in alphabet or len(alphabet) ** width >= 2**63:
        chunk = sorted(prefix + block[i : i + width] for i in range(0, len(block), width))
        return _json_array(chunk, alphabet), size
    import numpy as np

    codes = np.frombuffer(block.encode("ascii"), dtype=np.uint8).reshape(size, width)
    digit = np.zeros(256, dtype=np.int64)
    digit[np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)] = np.arange(len(alphabet))
    value = np.zeros(size, dtype=np.int64)
    base = len(alphabet)
    for column in range(width):
        value = value * base + digit[codes[:, column]]
    codes = codes[np.argsort(value, kind="stable")]
    head = prefix.encode("ascii")
    row = len(head) + width + 3  # "<prefix><serial>",
    out = np.empty((size, row), dtype=np.uint8)
    out[:, 0] = ord('"')
    if head:
        out[:, 1 : 1 + len(head)] = np.frombuffer(head, dtype=np.uint8)
    out[:, 1 + len(head) : 1 + len(head) + width] = codes
    out[:, -2] = ord('"')
    out[:, -1] = ord(",")
    body = out.tobytes()
    return "[" + body[:-1].decode("ascii") + "]", size


def _json_array(serials: list[str], alphabet: str) -> str:
    if '"' in alphabet:
        return json.dumps(serials)
    return '["' + '","'.join(serials) + '"]'


def _existing(conn: sqlite3.Connection, gtin_no: int, values: list[str]) -> dict[str, str]:
    """Serials of ``values`` already in the ledger for the GTIN → the id of their pool."""
    found: dict[str, str] = {}
    for start in range(0, len(values), CHUNK):
        rows = conn.execute(
            "select s.serial, p.pool_id from json_each(?) j "
            "join serials s on s.gtin_no = ? and s.serial = j.value "
            "join pools p on p.pool_no = s.pool_no",
            (json.dumps(values[start : start + CHUNK]), gtin_no),
        )
        found.update((r[0], r[1]) for r in rows)
    return found


_INSERT_RANDOM = (
    "insert or ignore into serials (gtin_no, serial, pool_no, alloc_no) "
    "select ?, value, ?, ? from json_each(?)"
)


def _draw_random(
    conn: sqlite3.Connection, pool: Pool, gtin_no: int, pool_no: int, alloc_no: int, count: int
) -> Sequence[str]:
    """Draw ``count`` fresh serials uniformly from the pool's space and insert them.

    Serials are drawn in bulk (os.urandom with rejection sampling), each chunk is sorted
    and inserted in one statement (sorted keys keep the B-tree writes local) on a worker
    thread while the next chunk is prepared (SQLite releases the GIL). ``INSERT OR
    IGNORE`` plus the count of inserted rows detects the rare collision with a serial
    already in the ledger for the GTIN (or drawn twice); only then are the colliding
    serials looked up, dropped and replaced by fresh draws.
    """
    width = pool.length - len(pool.prefix)
    text = random_text(pool.alphabet, count * width)
    drawn = PackedSerials(text, width, pool.prefix)
    suspicious: list[str] = []  # JSON arrays of chunks where fewer rows went in than drawn
    with ThreadPoolExecutor(max_workers=1) as worker:
        pending: tuple[Future[sqlite3.Cursor], str, int] | None = None
        for start in range(0, count, CHUNK):
            step = width * CHUNK
            block = text[start * width : start * width + step]
            doc, size = _sorted_json_chunk(block, width, pool.prefix, pool.alphabet)
            if pending is not None:
                _settle(pending, suspicious)
            pending = (
                worker.submit(conn.execute, _INSERT_RANDOM, (gtin_no, pool_no, alloc_no, doc)),
                doc,
                size,
            )
        if pending is not None:
            _settle(pending, suspicious)
    if not suspicious:
        return drawn
    # rare path: drop serials that were already taken and serials drawn twice, draw again
    taken: set[str] = set()
    for doc in suspicious:
        rows = conn.execute(
            "select value from json_each(?) j where not exists (select 1 from serials s "
            "where s.gtin_no = ? and s.serial = j.value and s.alloc_no = ?)",
            (doc, gtin_no, alloc_no),
        )
        taken.update(r[0] for r in rows)
    kept = [s for s in dict.fromkeys(drawn) if s not in taken]
    while len(kept) < count:
        more = PackedSerials(
            random_text(pool.alphabet, (count - len(kept)) * width), width, pool.prefix
        )
        batch = sorted(set(more))
        inserted = conn.execute(
            _INSERT_RANDOM, (gtin_no, pool_no, alloc_no, _json_array(batch, pool.alphabet))
        ).rowcount
        if inserted == len(batch):
            kept.extend(more if len(batch) == len(more) else dict.fromkeys(more))
            continue
        ours = {
            r[0]
            for r in conn.execute(
                "select value from json_each(?) j where exists (select 1 from serials s "
                "where s.gtin_no = ? and s.serial = j.value and s.alloc_no = ?)",
                (_json_array(batch, pool.alphabet), gtin_no, alloc_no),
            )
        }
        already = set(kept)
        kept.extend(s for s in dict.fromkeys(more) if s in ours and s not in already)
    return kept


def _settle(pending: tuple[Future[sqlite3.Cursor], str, int], suspicious: list[str]) -> None:
    future, doc, size = pending
    if future.result().rowcount != size:
        suspicious.append(doc)


def _draw_sequential(
    conn: sqlite3.Connection,
    pool: Pool,
    gtin_no: int,
    pool_no: int,
    alloc_no: int,
    issued: int,
    count: int,
) -> list[str]:
    first = decode_index(pool.bounds[0], pool.alphabet)
    serials = [
        encode_index(value, pool.alphabet, pool.length)
        for value in range(first + issued, first + issued + count)
    ]
    try:  # a plain insert: a serial already in the ledger aborts the whole allocation
        conn.execute(
            "insert into serials (gtin_no, serial, pool_no, alloc_no) "
            "select ?, value, ?, ? from json_each(?)",
            (gtin_no, pool_no, alloc_no, json.dumps(serials)),
        )
    except sqlite3.IntegrityError as exc:
        raise SerialtraceError(f"pool {pool.pool_id}: ledger refused a serial: {exc}") from exc
    return serials


def _draw_imported(
    conn: sqlite3.Connection, gtin_no: int, pool_no: int, alloc_no: int, count: int
) -> list[str]:
    rows = conn.execute(
        "select seq, serial from import_queue where pool_no = ? order by seq limit ?",
        (pool_no, count),
    ).fetchall()
    if len(rows) != count:
        raise PoolExhaustedError(f"import queue holds {len(rows)} serials, {count} requested")
    serials = [r[1] for r in rows]
    conn.execute("delete from import_queue where pool_no = ? and seq <= ?", (pool_no, rows[-1][0]))
    changed = conn.execute(
        "update serials set alloc_no = ? where gtin_no = ? and alloc_no is null "
        "and serial in (select value from json_each(?))",
        (alloc_no, gtin_no, json.dumps(serials)),
    ).rowcount
    if changed != count:
        raise SerialtraceError("imported serials were already issued: ledger inconsistent")
    return serials


def _migrate_v0(conn: sqlite3.Connection) -> None:
    """Carry a ledger of the first schema (pools + issued) over, losing nothing issued."""
    conn.execute(
        "insert into pools (pool_id, client, gtin, market, mode, length, alphabet, prefix, "
        "warn_below, max_guess_probability, issued, created_at) "
        "select pool_id, 'default', gtin, market, "
        "case when randomized then 'randomized' else 'sequential' end, length, alphabet, '', "
        "0.2, 1e-4, (select count(*) from issued i where i.pool_id = p.pool_id), created_at "
        "from pools_v0 p"
    )
    conn.execute("insert or ignore into gtins (gtin) select gtin from pools")
    conn.execute(
        "insert into allocations (pool_no, work_order_id, count, issued_at) "
        "select p.pool_no, i.work_order_id, count(*), min(i.issued_at) from issued i "
        "join pools p on p.pool_id = i.pool_id group by p.pool_no, i.work_order_id"
    )
    conn.execute(
        "insert or ignore into serials (gtin_no, serial, pool_no, alloc_no) "
        "select g.gtin_no, i.serial, p.pool_no, a.alloc_no from issued i "
        "join pools p on p.pool_id = i.pool_id join gtins g on g.gtin = p.gtin "
        "join allocations a on a.pool_no = p.pool_no and a.work_order_id = i.work_order_id"
    )
    conn.execute("drop table issued")
    conn.execute("drop table pools_v0")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
