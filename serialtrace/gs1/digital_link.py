"""GS1 Digital Link URIs (GS1 Digital Link Standard: URI Syntax).

Canonical form (as the GS1 Syntax Engine writes it): ``https://id.gs1.org``, the primary key and
every key qualifier present in the path (for (01): 22, 10, 21 in that order, or 235), all other
AIs as ``AI=value`` in the query, everything outside RFC 3986 *unreserved* percent-encoded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import quote, unquote, urlsplit

from serialtrace.errors import ValidationError
from serialtrace.gs1.element_string import ParsedElementString, encode, parsed_from_ais

__all__ = [
    "DEFAULT_BASE",
    "PRIMARY_KEYS",
    "SHORT_NAMES",
    "digital_link",
    "digital_link_from_ais",
    "parse_digital_link",
]

DEFAULT_BASE: Final = "https://id.gs1.org"

#: Primary keys supported, with their key qualifiers in the order the path must list them.
#: (01) takes either 22/10/21 or 235 (235 excludes 21).
PRIMARY_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "01": ("22", "10", "21", "235"),
    "00": (),
    "414": ("254",),
    "417": (),
}

#: GS1 Digital Link 1.0 short names accepted on input (numeric AIs are always emitted).
SHORT_NAMES: Final = {
    "gtin": "01",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
    "exp": "17",
    "sscc": "00",
    "gln": "414",
    "glnx": "254",
    "party": "417",
}

#: Key qualifiers that must never appear in the query string.
_PATH_ONLY: Final = frozenset({"21", "235", "254"})

_PERCENT_OK: Final = re.compile(r"(?:[^%]|%[0-9A-Fa-f]{2})*")


def _encode(value: str) -> str:
    # quote(safe="") leaves exactly the RFC 3986 unreserved set: A-Z a-z 0-9 - . _ ~
    return quote(value, safe="")


def _decode(raw: str, field: str) -> str:
    if not _PERCENT_OK.fullmatch(raw):
        raise ValidationError(field, f"malformed percent-encoding in {raw!r}")
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise ValidationError(field, f"percent-encoding is not valid UTF-8 in {raw!r}") from exc


def _check_base(base: str) -> str:
    if not isinstance(base, str):
        raise ValidationError("base", "must be a string")
    try:
        parts = urlsplit(base)
    except ValueError as exc:
        raise ValidationError("base", f"is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("base", f"must be an http(s)://host[/path] URL, got {base!r}")
    if parts.query or parts.fragment or "?" in base or "#" in base:
        raise ValidationError("base", "must not carry a query or fragment")
    return base.rstrip("/")


def digital_link_from_ais(
    ais: Sequence[tuple[str, str]], base: str = DEFAULT_BASE, *, today: dt.date | None = None
) -> str:
    """Canonical Digital Link for (AI, value) pairs: one primary key (01, 00, 414 or 417)."""
    stem = _check_base(base)
    element_string = encode(ais, today=today)
    values = dict(element_string.ais)
    keys = [key for key in PRIMARY_KEYS if key in values]
    if len(keys) != 1:
        found = ", ".join(f"({k})" for k in keys) or "none"
        raise ValidationError(
            "digital_link",
            f"needs exactly one primary key of (01), (00), (414), (417); found {found}",
        )
    key = keys[0]
    path_ais = [key, *(q for q in PRIMARY_KEYS[key] if q in values)]
    path = "".join(f"/{ai}/{_encode(values[ai])}" for ai in path_ais)
    query = "&".join(
        f"{ai}={_encode(value)}" for ai, value in element_string.ais if ai not in path_ais
    )
    return stem + path + (f"?{query}" if query else "")


def digital_link(
    gtin: str,
    serial: str | None = None,
    lot: str | None = None,
    expiry: str | None = None,
    extra: Sequence[tuple[str, str]] = (),
    base: str = DEFAULT_BASE,
) -> str:
    """Canonical GS1 Digital Link: ``/01/{gtin14}[/10/{lot}][/21/{serial}]?17=…&…``."""
    if isinstance(extra, str | bytes) or not isinstance(extra, Sequence):
        raise ValidationError("extra", "must be a sequence of (AI, value) pairs")
    ais: list[tuple[str, str]] = [("01", gtin)]
    if lot is not None:
        ais.append(("10", lot))
    if serial is not None:
        ais.append(("21", serial))
    if expiry is not None:
        ais.append(("17", expiry))
    ais.extend(extra)
    return digital_link_from_ais(ais, base)


def _ai_name(name: str) -> str | None:
    """Numeric AI or DL 1.0 short name → AI; ``None`` for non-GS1 parameters."""
    if name in SHORT_NAMES:
        return SHORT_NAMES[name]
    if name.isascii() and name.isdigit():
        return name
    return None


def parse_digital_link(uri: str, *, today: dt.date | None = None) -> ParsedElementString:
    """Parse a GS1 Digital Link URI on any host and path prefix.

    Accepts numeric AIs and the DL 1.0 short names (gtin, cpv, lot, ser, exp, sscc, gln, glnx,
    party); GTIN-8/12/13 are normalised to GTIN-14. Key qualifiers must follow their key in the
    standard order; (21), (235), (254) never sit in the query; (10) and (22) may when absent from
    the path. Non-GS1 query parameters (``linkType``, ``context``, …) are ignored. ``+`` is a
    literal plus (RFC 3986), not a space.
    """
    field = "digital_link"
    if not isinstance(uri, str):
        raise ValidationError(field, "must be a string")
    try:
        parts = urlsplit(uri.strip())
    except ValueError as exc:
        raise ValidationError(field, f"is not a valid URI: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError(field, "must be an http:// or https:// URI with a host")
    segments = parts.path.split("/")
    start = None
    for index, segment in enumerate(segments):
        key = _ai_name(segment)
        if key in PRIMARY_KEYS and (len(segments) - index) % 2 == 0:
            start = index
            break
    if start is None:
        raise ValidationError(
            field, "path must contain a primary key (01, 00, 414, 417) followed by AI/value pairs"
        )
    pairs: list[tuple[str, str]] = []
    path_segments = segments[start:]
    key = _ai_name(path_segments[0])
    assert key is not None
    pairs.append((key, _decode(path_segments[1], field)))
    allowed = list(PRIMARY_KEYS[key])
    for i in range(2, len(path_segments), 2):
        qualifier = _ai_name(path_segments[i])
        if qualifier is None or qualifier not in allowed:
            raise ValidationError(
                field,
                f"path segment {path_segments[i]!r} is not a key qualifier of ({key}) in the "
                f"order {'/'.join(PRIMARY_KEYS[key]) or '(none)'}",
            )
        allowed = allowed[allowed.index(qualifier) + 1 :]
        pairs.append((qualifier, _decode(path_segments[i + 1], field)))
    path_ais = {ai for ai, _ in pairs}
    if parts.query:
        for item in parts.query.split("&"):
            if not item:
                continue
            name, sep, raw_value = item.partition("=")
            ai = _ai_name(_decode(name, field))
            if ai is None:
                continue  # non-GS1 parameter such as linkType or context
            if not sep:
                raise ValidationError(field, f"query parameter {name!r} has no value")
            if ai in PRIMARY_KEYS or ai in _PATH_ONLY:
                raise ValidationError(
                    field, f"AI ({ai}) is a key or path-only qualifier and must not be in the query"
                )
            if ai in path_ais:
                raise ValidationError(field, f"AI ({ai}) appears in both path and query")
            pairs.append((ai, _decode(raw_value, field)))
    if "235" in path_ais and "21" in path_ais:
        raise ValidationError(field, "(235) and (21) are mutually exclusive")
    return parsed_from_ais(pairs, today=today)
