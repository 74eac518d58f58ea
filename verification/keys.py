"""Per-partner API keys of the responder, stored hashed (scrypt).

Stored in the installation's one user store (``Home.users_db``, table ``api_key``): one
place for every credential. :func:`key_store` opens it and migrates, once, a key file of
an older version (``<home>/verification/keys.sqlite``, renamed ``keys.sqlite.migrated``).

A key reads ``stv_<key_id>_<secret>``; only the key id and ``scrypt(secret, salt)`` are stored,
the key itself is shown once when it is added. A key may be bound to a client (CMO mode:
``company_id``): its queries are answered only from that client's data space. Who
created and who revoked each key is recorded (``created_by``, ``revoked_by``).
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

from serialtrace.acting import acting_name
from serialtrace.errors import ConfigurationError, ValidationError
from serialtrace.gs1.keys import validate_gln
from serialtrace.settings import Home, validate_client_id

__all__ = ["ApiKey", "KeyStore", "key_store", "keys_path"]

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
    revoked_at TEXT,
    created_by TEXT NOT NULL DEFAULT '',
    revoked_by TEXT
);
"""
_COLUMNS: Final = "key_id, partner, gln, company_id, salt, digest, created_at, revoked_at"


def keys_path(home_root: Path) -> Path:
    """The key file of versions before the user store held the keys (migrated once)."""
    return home_root / "verification" / "keys.sqlite"


def key_store(home: Home, *, recheck_seconds: float = 1.0) -> KeyStore:
    """The API keys of ``home``'s installation (its user store), after migrating a key
    file of an older version found in the installation's root or this data space."""
    store = KeyStore(home.users_db, recheck_seconds=recheck_seconds)
    for legacy in dict.fromkeys((keys_path(home.installation.root), keys_path(home.root))):
        if legacy.is_file():
            store.migrate_from(legacy)
    return store


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    partner: str
    gln: str | None
    company_id: str | None
    created_at: str
    revoked_at: str | None
    created_by: str = ""
    revoked_by: str | None = None


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
            present = {r[1] for r in db.execute("PRAGMA table_info(api_key)")}
            for column, ddl in (
                ("created_by", "TEXT NOT NULL DEFAULT ''"),
                ("revoked_by", "TEXT"),
            ):
                if column not in present:
                    db.execute(f"ALTER TABLE api_key ADD COLUMN {column} {ddl}")
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

    def migrate_from(self, legacy: Path) -> int:
        """Copy every key of an older key file (same hashing: the keys keep working), then
        rename the file ``*.migrated``; returns the number of keys copied."""
        with self._connect() as db:
            db.execute("ATTACH DATABASE ? AS legacy", (str(legacy),))
            try:
                db.execute("BEGIN IMMEDIATE")
                cur = db.execute(
                    f"INSERT OR IGNORE INTO main.api_key ({_COLUMNS}, created_by)"
                    f" SELECT {_COLUMNS}, 'migrated' FROM legacy.api_key"
                )
                db.execute("COMMIT")
                copied = cur.rowcount
            finally:
                db.execute("DETACH DATABASE legacy")
        legacy.replace(legacy.with_name(legacy.name + ".migrated"))
        return copied

    def add(
        self,
        partner: str,
        *,
        gln: str | None = None,
        company_id: str | None = None,
        by: str | None = None,
    ) -> str:
        """Create a key; returns the key (the only time it is visible). ``by``: who
        (default: the CLI's acting user)."""
        if not isinstance(partner, str) or not _PARTNER.fullmatch(partner):
            raise ValidationError("partner", "must be 1-64 letters, digits, space, . _ -")
        if gln is not None:
            validate_gln(gln, "gln")
        if company_id is not None:
            try:
                validate_client_id(company_id)
            except ConfigurationError as exc:
                raise ValidationError("client", str(exc)) from None
        key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        with self._connect() as db:
            db.execute(
                "INSERT INTO api_key (key_id, partner, gln, company_id, salt, digest, created_at,"
                " created_by) VALUES (?,?,?,?,?,?,?,?)",
                (
                    key_id,
                    partner,
                    gln,
                    company_id,
                    salt,
                    _digest(secret, salt),
                    _now(),
                    by or acting_name("service"),
                ),
            )
        return f"stv_{key_id}_{secret}"

    def list(self) -> list[ApiKey]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT key_id, partner, gln, company_id, created_at, revoked_at, created_by,"
                " revoked_by FROM api_key ORDER BY created_at, key_id"
            ).fetchall()
        return [ApiKey(*row) for row in rows]

    def revoke(self, key_id: str, *, by: str | None = None) -> bool:
        with self._connect() as db:
            cur = db.execute(
                "UPDATE api_key SET revoked_at = ?, revoked_by = ?"
                " WHERE key_id = ? AND revoked_at IS NULL",
                (_now(), by or acting_name("service"), key_id),
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
                "SELECT key_id, partner, gln, company_id, created_at, revoked_at, salt, digest,"
                " created_by, revoked_by FROM api_key WHERE key_id = ?",
                (key_id,),
            ).fetchone()
        if row is None or row[5] is not None:
            return None
        if not hmac.compare_digest(_digest(secret, row[6]), row[7]):
            return None
        key = ApiKey(row[0], row[1], row[2], row[3], row[4], row[5], row[8], row[9])
        with self._cache_lock:
            self._cache[fingerprint] = key
        return key


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
