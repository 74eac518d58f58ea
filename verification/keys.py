"""Per-partner API keys of the responder, stored hashed (scrypt).

File: ``<home>/verification/keys.sqlite``.

A key reads ``stv_<key_id>_<secret>``; only the key id and ``scrypt(secret, salt)`` are stored,
the key itself is shown once when it is added. A key may be bound to a client (CMO mode:
``company_id``): its queries are answered only from that client's data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from serialtrace.errors import ValidationError
from serialtrace.gs1.keys import validate_gln

__all__ = ["ApiKey", "KeyStore", "keys_path"]

_SCRYPT: Final = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_KEY: Final = re.compile(r"stv_([a-z0-9]{12})_([A-Za-z0-9_-]{43})")
_PARTNER: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS api_key (
    key_id     TEXT PRIMARY KEY,
    partner    TEXT NOT NULL,
    gln        TEXT,
    company_id TEXT,
    salt       BLOB NOT NULL,
    digest     BLOB NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""


def keys_path(home_root: Path) -> Path:
    return home_root / "verification" / "keys.sqlite"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    partner: str
    gln: str | None
    company_id: str | None
    created_at: str
    revoked_at: str | None


def _digest(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


class KeyStore:
    """Add, list, revoke and check keys. Successful checks are cached in memory (by a
    SHA-256 of the key) so scrypt runs once per key per process; revocations done by another
    process are seen within ``recheck_seconds``."""

    def __init__(self, path: Path, *, recheck_seconds: float = 1.0) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)
        self.recheck_seconds = recheck_seconds
        self._cache: dict[bytes, ApiKey] = {}
        self._cache_lock = threading.Lock()
        self._checked = 0.0
        self._version: int | None = None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    def add(self, partner: str, *, gln: str | None = None, company_id: str | None = None) -> str:
        """Create a key; returns the key (the only time it is visible)."""
        if not isinstance(partner, str) or not _PARTNER.fullmatch(partner):
            raise ValidationError("partner", "must be 1-64 letters, digits, space, . _ -")
        if gln is not None:
            validate_gln(gln, "gln")
        if company_id is not None and not _PARTNER.fullmatch(company_id):
            raise ValidationError("company_id", "must be 1-64 letters, digits, space, . _ -")
        key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        with self._connect() as db:
            db.execute(
                "INSERT INTO api_key (key_id, partner, gln, company_id, salt, digest, created_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (key_id, partner, gln, company_id, salt, _digest(secret, salt), _now()),
            )
        return f"stv_{key_id}_{secret}"

    def list(self) -> list[ApiKey]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT key_id, partner, gln, company_id, created_at, revoked_at FROM api_key"
                " ORDER BY created_at, key_id"
            ).fetchall()
        return [ApiKey(*row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        with self._connect() as db:
            cur = db.execute(
                "UPDATE api_key SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (_now(), key_id),
            )
            return cur.rowcount == 1

    def _drop_cache_if_changed(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.recheck_seconds:
            return
        self._checked = now
        with self._connect() as db:
            version = db.execute("SELECT count(*), count(revoked_at) FROM api_key").fetchone()
        stamp = hash(version)
        if stamp != self._version:
            with self._cache_lock:
                self._cache.clear()
            self._version = stamp

    def authenticate(self, presented: str | None) -> ApiKey | None:
        """The active key matching ``presented``, or None."""
        if not presented:
            return None
        self._drop_cache_if_changed()
        fingerprint = hashlib.sha256(presented.encode("utf-8", "replace")).digest()
        cached = self._cache.get(fingerprint)
        if cached is not None:
            return cached
        match = _KEY.fullmatch(presented)
        if match is None:
            return None
        key_id, secret = match.groups()
        with self._connect() as db:
            row = db.execute(
                "SELECT key_id, partner, gln, company_id, created_at, revoked_at, salt, digest"
                " FROM api_key WHERE key_id = ?",
                (key_id,),
            ).fetchone()
        if row is None or row[5] is not None:
            return None
        if not hmac.compare_digest(_digest(secret, row[6]), row[7]):
            return None
        key = ApiKey(*row[:6])
        with self._cache_lock:
            self._cache[fingerprint] = key
        return key


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
