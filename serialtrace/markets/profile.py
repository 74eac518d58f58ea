"""Market profiles: a market's serial rules, code content, human-readable lines and reports.

A market is data, not code: each profile is a TOML file (``serialtrace/markets/profiles/``
ships US DSCSA, EU FMD and Saudi Arabia; more go into ``<home>/markets/``). This module
only turns an already-parsed mapping into a checked :class:`MarketProfile` and answers
questions about it; it does no I/O (the loader is :mod:`serialtrace.markets.loader`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from serialtrace.errors import ValidationError
from serialtrace.gs1.charset import CSET82, validate_cset82

__all__ = [
    "ALPHABETS",
    "HRI_FIELDS",
    "MODES",
    "MarketProfile",
    "NhrnRule",
    "ReportRoute",
    "SerialRules",
    "alphabet_name",
    "parse_profile",
    "resolve_alphabet",
]

#: Named serial alphabets. ``alphanumeric`` leaves out I and O (read back as 1 and 0).
ALPHABETS: Final[Mapping[str, str]] = {
    "numeric": string.digits,
    "alphanumeric": "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ",
    "alphanumeric-full": string.digits + string.ascii_uppercase,
    "cset82": "".join(sorted(CSET82)),
}
MODES: Final = ("randomized", "sequential", "imported")
#: Placeholders a human-readable line may use.
HRI_FIELDS: Final = frozenset({"gtin", "serial", "lot", "expiry", "ndc", "nhrn", "nhrn_name"})
_MARKET_ID: Final = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")
_AI: Final = re.compile(r"\d{2,4}")
_PLACEHOLDER: Final = re.compile(r"\{([a-z_]+)\}")
_TOP_LEVEL: Final = frozenset(
    {"market", "serials", "carrier", "hri", "nhrn", "reports", "unverified"}
)


def resolve_alphabet(value: str, field: str = "alphabet") -> str:
    """A named alphabet (``numeric``, ``alphanumeric``, …) or literal characters, checked
    (distinct CSET 82 characters) and returned sorted so that string order = number order."""
    chars = ALPHABETS.get(value, value)
    if len(chars) < 2:
        raise ValidationError(
            field, f"needs at least 2 characters or a name of {sorted(ALPHABETS)}"
        )
    if len(set(chars)) != len(chars):
        raise ValidationError(field, "characters must be distinct")
    bad = sorted(set(chars) - CSET82)
    if bad:
        raise ValidationError(field, f"{''.join(bad)!r} not in the GS1 AI encodable set 82")
    return "".join(sorted(chars))


def alphabet_name(chars: str) -> str:
    """The name of a known alphabet, else the characters themselves."""
    for name, known in ALPHABETS.items():
        if known == chars:
            return name
    return chars


@dataclass(frozen=True)
class SerialRules:
    """What serials of this market look like and how they may be drawn."""

    min_length: int
    max_length: int
    alphabets: tuple[str, ...]  # resolved, sorted characters
    modes: tuple[str, ...]
    default_mode: str
    default_alphabet: str
    default_length: int
    max_guess_probability: float  # cap of issued / space for randomized pools
    warn_below: float  # default warning threshold: share of the capacity left


@dataclass(frozen=True)
class NhrnRule:
    """A national healthcare reimbursement number (AI 710-716) a member state asks for."""

    member_state: str
    ai: str
    name: str
    required: bool
    pattern: str | None
    note: str


@dataclass(frozen=True)
class ReportRoute:
    name: str
    to: str
    format: str
    channel: str


@dataclass(frozen=True)
class MarketProfile:
    market_id: str
    name: str
    countries: tuple[str, ...]
    regulation: str
    serials: SerialRules
    symbology: str
    ais: tuple[str, ...]  # data carried in the code, in encoding order
    optional_ais: tuple[str, ...]
    hri_lines: tuple[str, ...]
    expiry_format: str
    nhrn: Mapping[str, NhrnRule]
    reports: tuple[ReportRoute, ...]
    unverified: tuple[str, ...]
    source: str

    def check_pool(self, mode: str, length: int, alphabet: str) -> None:
        """Raise :class:`ValidationError` unless a pool of these rules suits this market."""
        rules = self.serials
        if mode not in rules.modes:
            raise ValidationError("mode", f"{self.market_id} allows {', '.join(rules.modes)}")
        if not rules.min_length <= length <= rules.max_length:
            raise ValidationError(
                "length",
                f"{self.market_id} serials are {rules.min_length}..{rules.max_length} characters",
            )
        if mode != "imported" and alphabet not in rules.alphabets:
            allowed = ", ".join(alphabet_name(a) for a in rules.alphabets)
            raise ValidationError("alphabet", f"{self.market_id} allows {allowed}")

    def nhrn_for(self, member_state: str | None) -> NhrnRule | None:
        """The NHRN rule of a member state, or None when it needs none."""
        if member_state is None:
            return None
        rule = self.nhrn.get(member_state.upper())
        return rule if rule is not None and rule.required else None

    def required_ais(self, member_state: str | None = None) -> tuple[str, ...]:
        """AIs the pack's code must carry (the NHRN last, after a GS)."""
        rule = self.nhrn_for(member_state)
        return (*self.ais, rule.ai) if rule else self.ais

    def validate_nhrn(self, member_state: str, value: str) -> str:
        rule = self.nhrn.get(member_state.upper())
        if rule is None:
            raise ValidationError(
                "member_state", f"{self.market_id} has no NHRN for {member_state}"
            )
        validate_cset82(value, f"nhrn ({rule.ai} {rule.name})")
        if rule.pattern and not re.fullmatch(rule.pattern, value):
            raise ValidationError(f"nhrn ({rule.ai} {rule.name})", f"must match {rule.pattern}")
        return value

    def render_hri(self, values: Mapping[str, str], member_state: str | None = None) -> list[str]:
        """The human-readable lines printed beside the code (lines naming a value that does
        not apply, such as the NHRN of a member state that needs none, are left out)."""
        rule = self.nhrn_for(member_state)
        given = dict(values)
        if rule is not None:
            given.setdefault("nhrn_name", rule.name)
        lines = []
        for template in self.hri_lines:
            names = _PLACEHOLDER.findall(template)
            if any(name not in given or given[name] == "" for name in names):
                if "nhrn" in names and rule is None:
                    continue
                missing = [n for n in names if not given.get(n)]
                raise ValidationError("hri", f"line {template!r} needs {', '.join(missing)}")
            lines.append(template.format(**given))
        return lines


def _get(section: Mapping[str, Any], key: str, where: str, kind: type, default: Any = ...) -> Any:
    name = f"{where}.{key}" if where else key
    if key not in section:
        if default is ...:
            raise ValidationError(name, "is missing")
        return default
    value = section[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValidationError(name, f"must be a {kind.__name__}")
    return value


def _strings(
    section: Mapping[str, Any], key: str, where: str, default: Any = ...
) -> tuple[str, ...]:
    value = _get(section, key, where, list, default)
    if not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{where}.{key}", "must be a list of strings")
    return tuple(value)


def _ais(values: Sequence[str], where: str) -> tuple[str, ...]:
    for ai in values:
        if not _AI.fullmatch(ai):
            raise ValidationError(where, f"{ai!r} is not a GS1 Application Identifier")
    return tuple(values)


def _serial_rules(s: Mapping[str, Any]) -> SerialRules:
    w = "serials"
    min_length = _get(s, "min_length", w, int, 1)
    max_length = _get(s, "max_length", w, int, 20)
    if not 1 <= min_length <= max_length <= 20:
        raise ValidationError(f"{w}.max_length", "lengths must satisfy 1 <= min <= max <= 20")
    alphabets = tuple(resolve_alphabet(a, f"{w}.alphabets") for a in _strings(s, "alphabets", w))
    modes = _strings(s, "modes", w, list(MODES))
    if not modes or any(m not in MODES for m in modes):
        raise ValidationError(f"{w}.modes", f"must be some of {', '.join(MODES)}")
    default_mode = _get(s, "default_mode", w, str, modes[0])
    default_alphabet = resolve_alphabet(
        _get(s, "default_alphabet", w, str), f"{w}.default_alphabet"
    )
    default_length = _get(s, "default_length", w, int)
    if default_mode not in modes or default_alphabet not in alphabets:
        raise ValidationError(f"{w}.default_mode", "defaults must be among the allowed values")
    if not min_length <= default_length <= max_length:
        raise ValidationError(f"{w}.default_length", "must lie within min_length..max_length")
    cap = _get(s, "max_guess_probability", w, float, 1e-4)
    if not 0 < cap <= 1e-4:
        raise ValidationError(
            f"{w}.max_guess_probability", "must be above 0 and at most 1e-4 (1 in 10,000)"
        )
    warn = _get(s, "warn_below", w, float, 0.2)
    if not 0 <= warn < 1:
        raise ValidationError(f"{w}.warn_below", "must be a share from 0 to below 1")
    return SerialRules(
        min_length,
        max_length,
        alphabets,
        modes,
        default_mode,
        default_alphabet,
        default_length,
        cap,
        warn,
    )


def parse_profile(data: Mapping[str, Any], source: str = "<profile>") -> MarketProfile:
    """Check a parsed profile file; every broken rule names the setting."""
    try:
        unknown = sorted(set(data) - _TOP_LEVEL)
        if unknown:
            raise ValidationError(
                unknown[0], f"unknown setting (known: {', '.join(sorted(_TOP_LEVEL))})"
            )
        market = _get(data, "market", "", dict)
        market_id = _get(market, "id", "market", str)
        if not _MARKET_ID.fullmatch(market_id):
            raise ValidationError("market.id", "must be 1-32 of A-Z 0-9 _ - (e.g. EU-FMD)")
        carrier = _get(data, "carrier", "", dict)
        hri = _get(data, "hri", "", dict)
        lines = _strings(hri, "lines", "hri")
        for line in lines:
            strange = set(_PLACEHOLDER.findall(line)) - HRI_FIELDS
            if strange:
                raise ValidationError(
                    "hri.lines", f"unknown field {sorted(strange)[0]!r} in {line!r}"
                )
        nhrn: dict[str, NhrnRule] = {}
        for state, rule in _get(data, "nhrn", "", dict, {}).items():
            where = f"nhrn.{state}"
            if not re.fullmatch(r"[A-Z]{2}", state) or not isinstance(rule, dict):
                raise ValidationError(where, "member states are ISO 3166 alpha-2 tables")
            ai = _get(rule, "ai", where, str)
            if not re.fullmatch(r"71[0-6]", ai):
                raise ValidationError(f"{where}.ai", "national numbers use AI 710 to 716")
            pattern = _get(rule, "pattern", where, str, None)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValidationError(f"{where}.pattern", f"bad pattern: {exc}") from None
            nhrn[state] = NhrnRule(
                state,
                ai,
                _get(rule, "name", where, str),
                _get(rule, "required", where, bool),
                pattern,
                _get(rule, "note", where, str, ""),
            )
        reports = tuple(
            ReportRoute(
                _get(r, "name", "reports", str),
                _get(r, "to", "reports", str),
                _get(r, "format", "reports", str),
                _get(r, "channel", "reports", str, ""),
            )
            for r in _get(data, "reports", "", list)
        )
        if not reports:
            raise ValidationError("reports", "name at least one place the market's reports go")
        ais = _ais(_strings(carrier, "ais", "carrier"), "carrier.ais")
        for needed in ("01", "21"):
            if needed not in ais:
                raise ValidationError("carrier.ais", f"must carry AI ({needed})")
        return MarketProfile(
            market_id=market_id,
            name=_get(market, "name", "market", str),
            countries=_strings(market, "countries", "market"),
            regulation=_get(market, "regulation", "market", str, ""),
            serials=_serial_rules(_get(data, "serials", "", dict)),
            symbology=_get(carrier, "symbology", "carrier", str),
            ais=ais,
            optional_ais=_ais(_strings(carrier, "optional_ais", "carrier", []), "carrier"),
            hri_lines=lines,
            expiry_format=_get(hri, "expiry_format", "hri", str, "%Y-%m-%d"),
            nhrn=nhrn,
            reports=reports,
            unverified=_strings(data, "unverified", "", []),
            source=source,
        )
    except ValidationError as exc:
        raise ValidationError(f"{source}: {exc.field}", exc.rule) from None
