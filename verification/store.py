"""The lookup store the responder answers from: an SQLite file exported from the
``verification_index`` and ``dim_products`` marts, replaced atomically on every refresh.

``<home>/verification/lookup.sqlite``: table ``serials`` keyed by (gtin, serial), table
``products`` keyed by gtin, table ``meta``. Readers open it immutable (a refresh writes a new
file and renames it over the old one, so an open reader keeps a consistent snapshot) and
notice a new file by its inode/mtime.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

import duckdb

from verification.decide import IndexRecord
from verification.identifiers import CatalogProduct, ProductCatalog

__all__ = ["LookupStore", "export_from_warehouse", "store_path", "write_store"]

SerialRow = tuple[str, str, str, str, str, str | None, str | None, str | None]

_SCHEMA: Final = """
CREATE TABLE serials (
    gtin TEXT NOT NULL, serial TEXT NOT NULL, lot TEXT NOT NULL, expiry TEXT NOT NULL,
    status TEXT NOT NULL, status_reason TEXT, lot_release_status TEXT, company_id TEXT,
    PRIMARY KEY (gtin, serial)
) WITHOUT ROWID;
CREATE TABLE products (
    gtin TEXT PRIMARY KEY, company_id TEXT, product_name TEXT, ndc TEXT, ndc11 TEXT,
    snomed_ct_code TEXT, proprietary_code TEXT
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def store_path(home_root: Path) -> Path:
    return home_root / "verification" / "lookup.sqlite"


def write_store(
    path: Path, serials: Iterable[SerialRow], products: Iterable[CatalogProduct]
) -> int:
    """Write a new store next to ``path`` and rename it over ``path``; returns the row count.

    ``serials`` rows: (gtin, serial, lot, expiry ISO date, status, status_reason,
    lot_release_status, company_id).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.executescript(_SCHEMA)
        count = 0
        batch: list[SerialRow] = []
        for row in serials:
            batch.append(row)
            if len(batch) >= 50_000:
                db.executemany("INSERT INTO serials VALUES (?,?,?,?,?,?,?,?)", batch)
                count += len(batch)
                batch.clear()
        db.executemany("INSERT INTO serials VALUES (?,?,?,?,?,?,?,?)", batch)
        count += len(batch)
        db.executemany(
            "INSERT INTO products VALUES (?,?,?,?,?,?,?)",
            [
                (
                    p.gtin,
                    p.company_id,
                    p.product_name,
                    p.ndc,
                    p.ndc11,
                    p.snomed_ct_code,
                    p.proprietary_code,
                )
                for p in products
            ],
        )
        db.executemany(
            "INSERT INTO meta VALUES (?,?)",
            [("built_at", dt.datetime.now(dt.UTC).isoformat()), ("serials", str(count))],
        )
        db.commit()
    finally:
        db.close()
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(path)
    return count


def export_from_warehouse(warehouse: Path, path: Path) -> int:
    """Export the verification_index and dim_products marts into a fresh lookup store."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        products = [
            CatalogProduct(*row)
            for row in con.execute(
                "select gtin, company_id, product_name, ndc, ndc11, snomed_ct_code,"
                " proprietary_code from dim_products"
            ).fetchall()
        ]
        cursor = con.execute(
            "select gtin, serial, lot, cast(expiry as varchar), status, status_reason,"
            " lot_release_status, company_id from verification_index"
        )

        def rows() -> Iterator[SerialRow]:
            while chunk := cursor.fetchmany(50_000):
                yield from chunk

        return write_store(path, rows(), products)


def _prefetch(path: Path) -> None:
    """Ask the kernel to read the whole store into the page cache in the background, so
    lookups after a refresh do not wait for random disk reads (one syscall, non-blocking)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    finally:
        os.close(fd)


class LookupStore:
    """Read side, shared by the responder's request handlers (thread-safe)."""

    def __init__(self, path: Path, *, recheck_seconds: float = 1.0) -> None:
        self.path = path
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self.catalog = ProductCatalog()
        self._reload()

    def _reload(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._db, self._stamp, self.catalog = None, None, ProductCatalog()
            return
        stamp = (st.st_ino, st.st_mtime_ns)
        if stamp == self._stamp:
            return
        db = sqlite3.connect(
            f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        _prefetch(self.path)
        products = [CatalogProduct(*row) for row in db.execute("SELECT * FROM products")]
        old, self._db, self._stamp = self._db, db, stamp
        self.catalog = ProductCatalog.of(products)
        if old is not None:
            old.close()

    def refresh_if_changed(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.recheck_seconds:
            return
        with self._lock:
            self._checked = now
            self._reload()

    @property
    def available(self) -> bool:
        return self._db is not None

    def get(self, gtin: str, serial: str) -> IndexRecord | None:
        self.refresh_if_changed()
        db = self._db
        if db is None:
            return None
        row = db.execute(
            "SELECT gtin, serial, lot, expiry, status, status_reason, lot_release_status,"
            " company_id FROM serials WHERE gtin = ? AND serial = ?",
            (gtin, serial),
        ).fetchone()
        if row is None:
            return None
        return IndexRecord(
            row[0], row[1], row[2], dt.date.fromisoformat(row[3]), row[4], row[5], row[6], row[7]
        )

    def product(self, gtin: str) -> CatalogProduct | None:
        return self.catalog.products.get(gtin)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
