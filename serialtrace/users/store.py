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
from datetime import UTC, datetime
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
"""


class AuthenticationError(SerialtraceError):
    """Wrong user name or password, or a disabled user (the message does not say which)."""


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

    def authenticate(self, name: str, password: str) -> User:
        """The user, when the name and password match an enabled user."""
        with self._connect() as db:
            row = db.execute(
                "SELECT name, full_name, roles, clients, email, disabled_at, password_hash"
                " FROM users WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None or row[5] is not None or not check_password(password, row[6]):
            raise AuthenticationError(f"user {name!r}: wrong user name or password, or disabled")
        return _user(row[:6])

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
