"""The one user store of Serialtrace: users, roles, clients, password hashes.

See docs/users.md. The API other stages use:

- :class:`UserStore` (``add``, ``get``, ``all``, ``with_role``, ``disable``, ``set_password``,
  ``authenticate``, ``require``): SQLite file ``Home.users_db``.
- :class:`User` (name, full name, roles, clients, email, disabled).
- :data:`ROLES`, :func:`hash_password`, :func:`check_password`.
"""

from __future__ import annotations

from serialtrace.users.passwords import check_password, hash_password
from serialtrace.users.store import (
    ROLES,
    AuthenticationError,
    PermissionDeniedError,
    User,
    UserStore,
)

__all__ = [
    "ROLES",
    "AuthenticationError",
    "PermissionDeniedError",
    "User",
    "UserStore",
    "check_password",
    "hash_password",
]
