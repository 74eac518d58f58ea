"""Canonical forms used by the CBV 2.0 event hash: EPC URN -> GS1 Digital Link, CBV URN /
bare word -> GS1 web vocabulary URI, numbers and timestamps. Pure, no I/O.

EPC URNs are turned into the canonical Digital Link on ``https://id.gs1.org`` (check digits
recomputed, no query string); a Digital Link on any host is put onto ``id.gs1.org`` with its
key path only. Values that are neither are returned unchanged.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Final
from urllib.parse import quote, unquote, urlsplit

from serialtrace.gs1.checkdigit import check_digit

DL_HOST: Final = "https://id.gs1.org"

#: CBV 1.2 URN prefix -> CBV 2.0 web URI prefix.
CBV_URN_TO_WEB: Final[tuple[tuple[str, str], ...]] = (
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
)

#: CURIE prefixes GS1's context defines for values.
VALUE_PREFIXES: Final[dict[str, str]] = {
    "gs1:": "https://gs1.org/voc/",
    "cbv:": "https://ref.gs1.org/cbv/",
}

# AIs that start a Digital Link key path, and the qualifiers kept after them.
_PRIMARY_AIS: Final = frozenset(
    {"00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010",
     "8013", "8017", "8018"}
)  # fmt: skip
_QUALIFIERS: Final[dict[str, tuple[str, ...]]] = {
    "01": ("22", "10", "21", "235"),
    "414": ("254",),
    "8006": ("22", "10", "21"),
    "8010": ("8011",),
}
_FIXED_CHECK: Final[dict[str, int]] = {"00": 18, "01": 14, "414": 13, "417": 13}
#: Digital Link "convenience alphas" -> AI.
_ALPHAS: Final[dict[str, str]] = {
    "sscc": "00", "gtin": "01", "cpv": "22", "lot": "10", "ser": "21", "gln": "414",
    "glnx": "254", "party": "417", "gdti": "253", "gcn": "255", "ginc": "401", "gsin": "402",
    "grai": "8003", "giai": "8004", "itip": "8006", "cpid": "8010", "cpsn": "8011",
    "gsrnp": "8017", "gsrn": "8018",
}  # fmt: skip


def _escape(value: str) -> str:
    """Canonical percent-encoding of a Digital Link path value."""
    return quote(unquote(value), safe="'")


@lru_cache(maxsize=4096)
def _with_check(body: str) -> str:
    return body + check_digit(body)


_EPC_RE: Final = re.compile(r"urn:epc:(id|class|idpat):([a-z]+):(.+)")


def epc_to_digital_link(value: str) -> str | None:
    """Canonical Digital Link of an EPC URN, or ``None`` if ``value`` is not one we know."""
    match = _EPC_RE.fullmatch(value)
    if match is None:
        return None
    kind, scheme, body = match.groups()
    parts = body.split(".")
    try:
        if kind == "id" and scheme == "sgtin" and len(parts) == 3:
            cp, item, serial = parts
            return f"{DL_HOST}/01/{_with_check(item[0] + cp + item[1:])}/21/{_escape(serial)}"
        if kind == "class" and scheme == "lgtin" and len(parts) == 3:
            cp, item, lot = parts
            return f"{DL_HOST}/01/{_with_check(item[0] + cp + item[1:])}/10/{_escape(lot)}"
        if kind == "idpat" and scheme == "sgtin" and len(parts) == 3 and parts[2] == "*":
            cp, item, _ = parts
            return f"{DL_HOST}/01/{_with_check(item[0] + cp + item[1:])}"
        if kind == "id" and scheme == "upui" and len(parts) == 3:
            cp, item, tpx = parts
            return f"{DL_HOST}/01/{_with_check(item[0] + cp + item[1:])}/235/{_escape(tpx)}"
        if kind == "idpat" and parts[-1] == "*":
            return _class_pattern(scheme, parts[:-1])
        if kind == "id" and scheme == "sscc" and len(parts) == 2:
            cp, ref = parts
            return f"{DL_HOST}/00/{_with_check(ref[0] + cp + ref[1:])}"
        if kind == "id" and scheme == "sgln" and len(parts) == 3:
            cp, loc, ext = parts
            gln = _with_check(cp + loc)
            return f"{DL_HOST}/414/{gln}" + ("" if ext == "0" else f"/254/{ext}")
        if kind == "id" and scheme == "pgln" and len(parts) == 2:
            return f"{DL_HOST}/417/{_with_check(parts[0] + parts[1])}"
        if kind == "id" and scheme == "grai" and len(parts) == 3:
            cp, asset, serial = parts
            return f"{DL_HOST}/8003/0{_with_check(cp + asset)}{_escape(serial)}"
        if kind == "id" and scheme == "giai" and len(parts) == 2:
            return f"{DL_HOST}/8004/{parts[0]}{_escape(parts[1])}"
        if kind == "id" and scheme == "gsrn" and len(parts) == 2:
            return f"{DL_HOST}/8018/{_with_check(parts[0] + parts[1])}"
        if kind == "id" and scheme == "gsrnp" and len(parts) == 2:
            return f"{DL_HOST}/8017/{_with_check(parts[0] + parts[1])}"
        if kind == "id" and scheme == "gdti" and len(parts) == 3:
            cp, doc, serial = parts
            return f"{DL_HOST}/253/{_with_check(cp + doc)}{_escape(serial)}"
        if kind == "id" and scheme == "sgcn" and len(parts) == 3:
            cp, coupon, serial = parts
            return f"{DL_HOST}/255/{_with_check(cp + coupon)}{_escape(serial)}"
        if kind == "id" and scheme == "ginc" and len(parts) == 2:
            return f"{DL_HOST}/401/{parts[0]}{_escape(parts[1])}"
        if kind == "id" and scheme == "gsin" and len(parts) == 2:
            return f"{DL_HOST}/402/{_with_check(parts[0] + parts[1])}"
        if kind == "id" and scheme == "cpi" and len(parts) == 3:
            cp, ref, serial = parts
            return f"{DL_HOST}/8010/{cp}{_escape(ref)}/8011/{_escape(serial)}"
        if kind == "id" and scheme == "itip" and len(parts) == 5:
            cp, item, piece, total, serial = parts
            gtin = _with_check(item[0] + cp + item[1:])
            return f"{DL_HOST}/8006/{gtin}{piece}{total}/21/{_escape(serial)}"
    except (IndexError, ValueError):
        return None
    return None


def _class_pattern(scheme: str, parts: list[str]) -> str | None:
    """EPC class patterns (``urn:epc:idpat:<scheme>:…​.*``) as Digital Link of the class."""
    if scheme == "grai" and len(parts) == 2:
        return f"{DL_HOST}/8003/0{_with_check(parts[0] + parts[1])}"
    if scheme == "gdti" and len(parts) == 2:
        return f"{DL_HOST}/253/{_with_check(parts[0] + parts[1])}"
    if scheme == "sgcn" and len(parts) == 2:
        return f"{DL_HOST}/255/{_with_check(parts[0] + parts[1])}"
    if scheme == "cpi" and len(parts) == 2:
        return f"{DL_HOST}/8010/{parts[0]}{_escape(parts[1])}"
    if scheme == "itip" and len(parts) == 4:
        cp, item, piece, total = parts
        return f"{DL_HOST}/8006/{_with_check(item[0] + cp + item[1:])}{piece}{total}"
    return None


def normalise_digital_link(value: str) -> str | None:
    """A GS1 Digital Link on any host, reduced to its key path on ``id.gs1.org``."""
    if not value.startswith(("http://", "https://")):
        return None
    path = urlsplit(value).path
    segments = [_ALPHAS.get(s, s) for s in path.split("/") if s]
    for start, segment in enumerate(segments):
        if segment in _PRIMARY_AIS and start + 1 < len(segments):
            pairs = segments[start:]
            if len(pairs) % 2:
                return None
            values = dict(zip(pairs[::2], pairs[1::2], strict=True))
            primary, key = pairs[0], pairs[1]
            if primary in _FIXED_CHECK and (not key.isdigit() or len(key) > _FIXED_CHECK[primary]):
                return None
            if primary in _FIXED_CHECK:
                key = key.zfill(_FIXED_CHECK[primary])
            out = f"{DL_HOST}/{primary}/{_escape(key)}"
            for qualifier in _QUALIFIERS.get(primary, ()):
                if qualifier in values:
                    out += f"/{qualifier}/{_escape(values[qualifier])}"
            return out
    return None


def cbv_web_uri(value: str) -> str:
    """CBV 1.2 URNs and GS1 CURIEs (``gs1:``, ``cbv:``) as web URIs; others unchanged."""
    for urn, web in CBV_URN_TO_WEB:
        if value.startswith(urn):
            return web + value[len(urn) :]
    return value


def canonical_number(value: str) -> str:
    """``12.10`` -> ``12.1``, ``+3.0`` -> ``3``; non-numbers unchanged."""
    if not value or value[0] not in "+-.0123456789" or not any(c.isdigit() for c in value):
        return value
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    as_float = float(number)
    if as_float == int(as_float):
        return str(int(as_float))
    return str(as_float)


SGTIN: Final = "urn:epc:id:sgtin:"


@lru_cache(maxsize=4096)
def sgtin_link_head(head: str) -> str | None:
    """``https://id.gs1.org/01/<GTIN>/21/`` for ``<company prefix>.<item reference>`` (the
    part every SGTIN of one product shares), ``None`` if that is not a valid SGTIN head."""
    link = epc_to_digital_link(f"{SGTIN}{head}.0")
    return None if link is None else link[:-1]


def canonical_value(value: str) -> str:
    """CBV URN -> web URI, number canonical, EPC URN / Digital Link -> canonical DL.

    Hot path (EPC lists): an SGTIN whose serial needs no percent-encoding is its product's
    memoised Digital Link head plus the serial; every other value goes through the general
    conversion, memoised (the same CBV words, locations and parents recur event after event).
    """
    if value.startswith(SGTIN):
        head, _, serial = value[17:].rpartition(".")
        if serial.isascii() and serial.isalnum():
            prefix = sgtin_link_head(head)
            if prefix is not None:
                return prefix + serial
    return _canonical_value(value)


@lru_cache(maxsize=8192)
def _canonical_value(value: str) -> str:
    if value.startswith("urn:epc:"):
        return epc_to_digital_link(value) or value
    text = cbv_web_uri(value)
    text = canonical_number(text)
    converted = epc_to_digital_link(text) or normalise_digital_link(text)
    return converted or text


_TIME_RE: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?"
)

#: Already canonical: UTC, ``Z``, three fraction digits (what our own events carry).
#: (Years before 1000 take the general path: ``strftime`` writes them without padding.)
_CANONICAL_TIME_RE: Final = re.compile(
    r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"
)


def canonical_time(value: str) -> str:
    """UTC with ``Z`` and exactly three fraction digits, rounded half up; unparseable
    values are returned unchanged."""
    if _CANONICAL_TIME_RE.fullmatch(value) is not None:
        datetime.fromisoformat(value[:19])  # the same check (and error) as the general path
        return value
    match = _TIME_RE.fullmatch(value.strip())
    if match is None:
        return value
    day, clock, fraction, zone = match.groups()
    base = datetime.fromisoformat(f"{day}T{clock}")
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        base -= sign * timedelta(hours=hours, minutes=minutes)
    millis = Decimal(f"0.{fraction or '0'}") * 1000
    rounded = int(millis.quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    moment = base.replace(tzinfo=UTC) + timedelta(milliseconds=rounded)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


__all__ = [
    "CBV_URN_TO_WEB",
    "DL_HOST",
    "VALUE_PREFIXES",
    "canonical_number",
    "canonical_time",
    "canonical_value",
    "cbv_web_uri",
    "epc_to_digital_link",
    "normalise_digital_link",
    "sgtin_link_head",
]
