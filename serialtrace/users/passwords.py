"""Password hashing with scrypt (stdlib :func:`hashlib.scrypt`). Pure: no I/O.

Stored form (one string, self-describing so the cost can be raised later)::

    scrypt$<log2 n>$<r>$<p>$<salt hex>$<hash hex>

Parameters: n = 2**15, r = 8, p = 1 (about 32 MiB, OWASP's scrypt minimum is n = 2**17 with
p = 1 or n = 2**15 with r=8 p=3 for similar cost; see docs/users.md), 16-byte random salt,
32-byte key. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

LOG2_N = 15
R = 8
P = 1
KEY_BYTES = 32
MIN_LENGTH = 8


def hash_password(password: str, *, log2_n: int = LOG2_N) -> str:
    """The stored form of a new password (a fresh random salt each call)."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password must be at least {MIN_LENGTH} characters")
    salt = secrets.token_bytes(16)
    key = _derive(password, salt, log2_n, R, P)
    return f"scrypt${log2_n}${R}${P}${salt.hex()}${key.hex()}"


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored form; False for anything malformed."""
    try:
        scheme, log2_n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(key)
        actual = _derive(password, bytes.fromhex(salt), int(log2_n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _derive(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=256 * n * r + (1 << 20),
        dklen=KEY_BYTES,
    )
