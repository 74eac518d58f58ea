"""The one user store of Serialtrace: users, roles, clients, password hashes.

See docs/users.md. The API other stages use:

- :class:`UserStore` (``add``, ``get``, ``all``, ``with_role``, ``disable``, ``set_password``,
  ``authenticate``, ``require``, ``locked_until``, ``record_failed_login``, ``lockouts``):
  SQLite file ``Home.users_db``; :data:`MAX_FAILED_LOGINS` failures in a row lock a name for
  :data:`LOCKOUT` (:class:`LockedOutError`).
- :class:`User` (name, full name, roles, clients, email, disabled).
- :data:`ROLES`, :func:`hash_password`, :func:`check_password`.
"""

from __future__ import annotations

from serialtrace.users.passwords import check_password, hash_password
from serialtrace.users.store import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    ROLES,
    AuthenticationError,
    LockedOutError,
    PermissionDeniedError,
    User,
    UserStore,
)

__all__ = [
    "LOCKOUT",
    "MAX_FAILED_LOGINS",
    "ROLES",
    "AuthenticationError",
    "LockedOutError",
    "PermissionDeniedError",
    "User",
    "UserStore",
    "check_password",
    "hash_password",
]
