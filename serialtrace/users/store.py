"""The user store (SQLite, ``Home.users_db``): who may do what, for which clients.

A user has a login name, a full name (printed in signatures), one or more roles, the
clients (company ids) whose data they may see (``*`` = every client), an optional e-mail
address (escalations), a scrypt password hash, and may be disabled (never deleted: audit
trails keep naming them). Every change is stamped with who made it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from serialtrace.errors import SerialtraceError, ValidationError
from serialtrace.io.sqlite import connect_wal
from serialtrace.users.passwords import check_password, hash_password

#: The roles of Serialtrace (docs/users.md says what each may do).
ROLES: Final[tuple[str, ...]] = (
    "admin",
    "serialization_admin",
    "quality",
    "operator",
    "auditor",
)
ALL_CLIENTS: Final = "*"
#: Consecutive failed logins of one name after which it is locked, and for how long
#: (21 CFR 11.300(d): safeguards against the unauthorized use of passwords). Names that
#: are not users are counted and locked alike, so a lock tells nothing about a name.
MAX_FAILED_LOGINS: Final = 5
LOCKOUT: Final = timedelta(minutes=15)
_NAME = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name          TEXT PRIMARY KEY,
    full_name     TEXT NOT NULL,
    roles         TEXT NOT NULL,      -- comma-separated, from ROLES
    clients       TEXT NOT NULL,      -- comma-separated company ids, or '*'
    email         TEXT,
    password_hash TEXT NOT NULL,      -- scrypt$...; never the password
    disabled_at   TEXT,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    changed_at    TEXT NOT NULL,
    changed_by    TEXT NOT NULL
);
-- consecutive failed logins per name as typed (a success or a new password clears them)
CREATE TABLE IF NOT EXISTS login_failures (
    name             TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    first_failure_at TEXT NOT NULL,
    last_failure_at  TEXT NOT NULL,
    locked_until     TEXT            -- set when failures reach MAX_FAILED_LOGINS
);
-- every lock, kept for the record (who was locked, when, after how many failures)
CREATE TABLE IF NOT EXISTS login_lockouts (
    name         TEXT NOT NULL,
    locked_at    TEXT NOT NULL,
    locked_until TEXT NOT NULL,
    failures     INTEGER NOT NULL
);
"""


class AuthenticationError(SerialtraceError):
    """Wrong user name or password, or a disabled user (the message does not say which)."""


class LockedOutError(AuthenticationError):
    """Too many failed logins in a row: the name is locked for a while, whatever the
    password."""

    def __init__(self, name: str, until: datetime) -> None:
        self.until = until
        super().__init__(
            f"user {name!r}: locked after {MAX_FAILED_LOGINS} failed logins until "
            f"{until:%Y-%m-%d %H:%M:%S} UTC; an admin unlocks it by setting a new password "
            "(serialtrace users passwd)"
        )


class PermissionDeniedError(SerialtraceError):
    """The user lacks the role an action needs."""


@dataclass(frozen=True)
class User:
    name: str
    full_name: str
    roles: tuple[str, ...]
    clients: tuple[str, ...]
    email: str | None
    disabled: bool

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    def may_see(self, client: str) -> bool:
        return ALL_CLIENTS in self.clients or client in self.clients


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def validate_roles(roles: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(r.strip() for r in roles if r.strip()))
    if not chosen:
        raise ValidationError("roles", f"at least one of {', '.join(ROLES)}")
    unknown = [r for r in chosen if r not in ROLES]
    if unknown:
        raise ValidationError("roles", f"unknown {', '.join(unknown)}; one of {', '.join(ROLES)}")
    return chosen


def validate_clients(clients: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(c.strip() for c in clients if c.strip()))
    if not chosen:
        raise ValidationError("clients", "name at least one company id, or '*' for all")
    return chosen


class UserStore:
    """Users in one SQLite file (WAL; safe across processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect_wal(self.path)

    def add(
        self,
        name: str,
        password: str,
        *,
        full_name: str,
        roles: Iterable[str],
        clients: Iterable[str] = (ALL_CLIENTS,),
        email: str | None = None,
        by: str,
    ) -> User:
        """Create a user; the name must be new."""
        if not _NAME.match(name):
            raise ValidationError("user", f"lower-case letters, digits, . _ - (2-64), got {name!r}")
        if not full_name.strip():
            raise ValidationError("full name", "must not be empty (it is printed in signatures)")
        if email is not None and not _EMAIL.match(email):
            raise ValidationError("email", f"not an e-mail address: {email!r}")
        chosen_roles = validate_roles(roles)
        chosen_clients = validate_clients(clients)
        try:
            stored = hash_password(password)
        except ValueError as exc:
            raise ValidationError("password", str(exc)) from None
        stamp = _now()
        with self._connect() as db:
            try:
                db.execute(
                    "INSERT INTO users VALUES (?,?,?,?,?,?,NULL,?,?,?,?)",
                    (
                        name,
                        full_name.strip(),
                        ",".join(chosen_roles),
                        ",".join(chosen_clients),
                        email,
                        stored,
                        stamp,
                        by,
                        stamp,
                        by,
                    ),
                )
            except sqlite3.IntegrityError:
                raise ValidationError("user", f"{name!r} already exists") from None
        return self.get(name)

    def get(self, name: str) -> User:
        with self._connect() as db:
            row = db.execute(
                "SELECT name, full_name, roles, clients, email, disabled_at FROM users"
                " WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None:
            raise SerialtraceError(f"user {name!r} does not exist")
        return _user(row)

    def all(self) -> list[User]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT name, full_name, roles, clients, email, disabled_at FROM users"
                " ORDER BY name"
            ).fetchall()
        return [_user(r) for r in rows]

    def with_role(self, role: str) -> list[User]:
        """Enabled users holding ``role``."""
        return [u for u in self.all() if role in u.roles and not u.disabled]

    def disable(self, name: str, *, by: str) -> None:
        self.get(name)
        with self._connect() as db:
            db.execute(
                "UPDATE users SET disabled_at = coalesce(disabled_at, ?), changed_at = ?,"
                " changed_by = ? WHERE name = ?",
                (_now(), _now(), by, name),
            )

    def set_password(self, name: str, password: str, *, by: str) -> None:
        self.get(name)
        try:
            stored = hash_password(password)
        except ValueError as exc:
            raise ValidationError("password", str(exc)) from None
        with self._connect() as db:
            db.execute(
                "UPDATE users SET password_hash = ?, changed_at = ?, changed_by = ? WHERE name = ?",
                (stored, _now(), by, name),
            )
            db.execute("DELETE FROM login_failures WHERE name = ?", (name,))  # unlocks

    def authenticate(self, name: str, password: str, *, now: datetime | None = None) -> User:
        """The user, when the name and password match an enabled user and the name is not
        locked (:class:`LockedOutError`). A failure counts towards the lock; a success
        clears the count."""
        moment = now or datetime.now(UTC)
        until = self.locked_until(name, now=moment)
        if until is not None:
            raise LockedOutError(name, until)
        with self._connect() as db:
            row = db.execute(
                "SELECT name, full_name, roles, clients, email, disabled_at, password_hash"
                " FROM users WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None or row[5] is not None or not check_password(password, row[6]):
            locked = self.record_failed_login(name, now=moment)
            if locked is not None:
                raise LockedOutError(name, locked)
            raise AuthenticationError(f"user {name!r}: wrong user name or password, or disabled")
        with self._connect() as db:
            db.execute("DELETE FROM login_failures WHERE name = ?", (name,))
        return _user(row[:6])

    def locked_until(self, name: str, *, now: datetime | None = None) -> datetime | None:
        """When the lock of ``name`` ends, while it is locked; else None."""
        moment = now or datetime.now(UTC)
        with self._connect() as db:
            row = db.execute(
                "SELECT locked_until FROM login_failures WHERE name = ?", (name,)
            ).fetchone()
        if row is None or row[0] is None:
            return None
        until = datetime.fromisoformat(row[0])
        return until if until > moment else None

    def record_failed_login(self, name: str, *, now: datetime | None = None) -> datetime | None:
        """Count one failed login of ``name`` (a user or not). Returns the end of the lock
        when this failure locks the name. After a lock has run out, counting starts anew."""
        moment = now or datetime.now(UTC)
        stamp = moment.isoformat(timespec="seconds")
        with self._connect() as db:
            row = db.execute(
                "SELECT failures, locked_until FROM login_failures WHERE name = ?", (name,)
            ).fetchone()
            failures = 1 if row is None or row[1] is not None else int(row[0]) + 1
            until = moment + LOCKOUT if failures >= MAX_FAILED_LOGINS else None
            until_text = until.isoformat(timespec="seconds") if until else None
            db.execute(
                "INSERT INTO login_failures VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE"
                " SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,"
                " locked_until = excluded.locked_until,"
                " first_failure_at = CASE WHEN excluded.failures = 1"
                " THEN excluded.first_failure_at ELSE first_failure_at END",
                (name, failures, stamp, stamp, until_text),
            )
            if until_text is not None:
                db.execute(
                    "INSERT INTO login_lockouts VALUES (?, ?, ?, ?)",
                    (name, stamp, until_text, failures),
                )
        return until

    def lockouts(self) -> list[tuple[str, str, str, int]]:
        """Every lock so far: (name, locked at, locked until, failures), oldest first."""
        with self._connect() as db:
            return [
                (str(r[0]), str(r[1]), str(r[2]), int(r[3]))
                for r in db.execute(
                    "SELECT name, locked_at, locked_until, failures FROM login_lockouts"
                    " ORDER BY locked_at, rowid"
                )
            ]

    def require(self, name: str, *roles: str) -> User:
        """The enabled user ``name``, who must hold one of ``roles`` (any role if none)."""
        user = self.get(name)
        if user.disabled:
            raise PermissionDeniedError(f"user {name!r} is disabled")
        if roles and not user.has_role(*roles):
            raise PermissionDeniedError(
                f"user {name!r} ({', '.join(user.roles)}) needs a role among {', '.join(roles)}"
            )
        return user


def _user(row: tuple[str, str, str, str, str | None, str | None]) -> User:
    return User(
        name=row[0],
        full_name=row[1],
        roles=tuple(row[2].split(",")),
        clients=tuple(row[3].split(",")),
        email=row[4],
        disabled=row[5] is not None,
    )
