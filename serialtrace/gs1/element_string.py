"""GS1 element strings: encode DataMatrix content, parse scanner output and HRI.

* ``payload`` is what follows the leading FNC1 in a GS1 DataMatrix: predefined-length AIs first,
  then the others, with a GS (ASCII 29, the FNC1 separator) after every element whose AI is not of
  predefined length, except the last one (GS1 General Specifications §7.8.5, Figure 7.8.5-2).
* ``hri`` is the bracketed human-readable interpretation ``(01)…(17)…(10)…(21)…``.

Scanner output is split into elements with biip (which knows every AI's format); this module then
checks the separators strictly and validates every value itself.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from biip.gs1_application_identifiers import GS1ApplicationIdentifier

from serialtrace.errors import ValidationError
from serialtrace.gs1.charset import validate_cset82, validate_yymmdd, yymmdd_to_date
from serialtrace.gs1.checkdigit import is_digits
from serialtrace.gs1.keys import normalize_gtin, validate_gln, validate_sscc

__all__ = [
    "AI_FIELDS",
    "FNC1_MARKERS",
    "GS",
    "PREDEFINED_LENGTH_PREFIXES",
    "SYMBOLOGY_IDENTIFIERS",
    "ElementString",
    "ParsedElementString",
    "ai_field",
    "encode",
    "encode_unit",
    "needs_separator",
    "parse",
    "validate_ai_value",
]

GS: Final = "\x1d"

#: Total element length (AI + value) of the predefined-length AI prefixes (GenSpecs 7.8.5-2).
_PREDEFINED_TOTAL: Final = {
    "00": 20, "01": 16, "02": 16, "03": 16, "04": 18, "11": 8, "12": 8, "13": 8, "14": 8,
    "15": 8, "16": 8, "17": 8, "18": 8, "19": 8, "20": 4, "31": 10, "32": 10, "33": 10,
    "34": 10, "35": 10, "36": 10, "41": 16,
}  # fmt: skip
#: Two-digit AI prefixes of predefined length: no FNC1 separator needed after them
#: (GS1 General Specifications Figure 7.8.5-2; same as the GS1 Syntax Dictionary ``*`` flag).
PREDEFINED_LENGTH_PREFIXES: Final = frozenset(_PREDEFINED_TOTAL)

#: Symbology identifiers carrying GS1 data: DataMatrix, GS1-128, GS1 QR, GS1 DataBar.
SYMBOLOGY_IDENTIFIERS: Final = ("]d2", "]C1", "]Q3", "]e0")

#: Literal stand-ins for FNC1/GS that scanners, label software and people type.
FNC1_MARKERS: Final = ("<FNC1>", "[FNC1]", "{FNC1}", "<GS>", "\u241d")

#: Field names used in error messages for the AIs Serialtrace cares about.
AI_FIELDS: Final = {
    "00": "sscc",
    "01": "gtin",
    "02": "content_gtin",
    "10": "lot",
    "11": "production_date",
    "17": "expiry",
    "21": "serial",
    "254": "gln_extension",
    "410": "ship_to_gln",
    "411": "bill_to_gln",
    "412": "purchased_from_gln",
    "413": "ship_for_gln",
    "414": "gln",
    "415": "pay_to_gln",
    "416": "production_gln",
    "417": "party_gln",
    **{f"71{n}": f"nhrn_71{n}" for n in range(7)},
}

_DATE_AIS: Final = frozenset({"11", "12", "13", "15", "16", "17"})
_CSET82_20_AIS: Final = frozenset({"10", "21", "254", *(f"71{n}" for n in range(7))})

#: AI → AIs of which at least one must be present (GS1 Syntax Dictionary ``req``), and
#: mutually exclusive pairs (``ex``), for the AIs this package is about.
_REQUIRES: Final = {
    "10": ("01", "02", "03", "8006", "8026"),
    "21": ("01", "03", "8006"),
    "254": ("414",),
    **{f"71{n}": ("01",) for n in range(7)},
}
_EXCLUSIVE: Final = (("01", "02"), ("01", "03"), ("21", "235"))

_AI_CODE: Final = re.compile(r"\d{2,4}", re.ASCII)


def needs_separator(ai: str) -> bool:
    """True if an element with this AI must be followed by FNC1/GS when it is not last."""
    return ai[:2] not in PREDEFINED_LENGTH_PREFIXES


def ai_field(ai: str) -> str:
    """The field name used in errors about this AI (``gtin``, ``lot``, …, else ``ai_NNNN``)."""
    return AI_FIELDS.get(ai, f"ai_{ai}")


def _lookup_ai(ai: object) -> GS1ApplicationIdentifier:
    if not isinstance(ai, str) or not _AI_CODE.fullmatch(ai):
        raise ValidationError("ai", f"must be a 2- to 4-digit Application Identifier, got {ai!r}")
    try:
        known = GS1ApplicationIdentifier.extract(ai)
    except Exception as exc:  # biip.ParseError; never let a third-party error escape
        raise ValidationError("ai", f"unknown Application Identifier ({ai})") from exc
    if known.ai != ai:
        raise ValidationError("ai", f"unknown Application Identifier ({ai})")
    return known


def validate_ai_value(ai: str, value: str, *, today: dt.date | None = None) -> str:
    """Validate one AI value; return it normalised (GTIN-8/12/13 → GTIN-14 for (01)/(02))."""
    spec = _lookup_ai(ai)
    field = ai_field(ai)
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if ai in ("01", "02"):
        return normalize_gtin(value, field)
    if ai == "00":
        return validate_sscc(value, field)
    if ai[:2] == "41" and len(ai) == 3:
        return validate_gln(value, field)
    if ai in _DATE_AIS:
        return validate_yymmdd(value, field, today=today)
    if ai in _CSET82_20_AIS:
        return validate_cset82(value, field)
    # Any other AI: the format from GS1's AI table (as bundled with biip).
    if not re.fullmatch(spec.pattern, ai + value):
        raise ValidationError(field, f"must match the format of ({ai}): {spec.format}")
    return value


@dataclass(frozen=True)
class ElementString:
    """A GS1 element string in canonical order.

    ``payload``: the data after the leading FNC1, GS between elements where required.
    ``hri``: the bracketed human-readable form. ``ais``: (AI, value) pairs in payload order.
    """

    payload: str
    hri: str
    ais: tuple[tuple[str, str], ...]

    def get(self, ai: str) -> str | None:
        """The value of ``ai``, or ``None``."""
        return dict(self.ais).get(ai)

    @property
    def scanner_text(self) -> str:
        """What a scanner returns for this GS1 DataMatrix: ``]d2`` + payload."""
        return "]d2" + self.payload


def encode(ais: Sequence[tuple[str, str]], *, today: dt.date | None = None) -> ElementString:
    """Encode (AI, value) pairs into the canonical element string, validating every value.

    Canonical order: predefined-length AIs first, then the others, each group by AI number.
    Each AI may appear once; (10), (21), (254) and (710)-(716) need their key AI.
    """
    if isinstance(ais, str | bytes) or not isinstance(ais, Sequence):
        raise ValidationError("ais", "must be a sequence of (AI, value) pairs")
    if not ais:
        raise ValidationError("ais", "at least one Application Identifier is required")
    values: dict[str, str] = {}
    for pair in ais:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValidationError("ais", f"each item must be an (AI, value) pair, got {pair!r}")
        ai, value = pair
        normalised = validate_ai_value(ai, value, today=today)
        if ai in values:
            raise ValidationError(ai_field(ai), f"AI ({ai}) must appear only once")
        values[ai] = normalised
    for ai, required in _REQUIRES.items():
        if ai in values and not any(r in values for r in required):
            names = "/".join(f"({r})" for r in required)
            raise ValidationError(ai_field(ai), f"AI ({ai}) requires {names}")
    for first, second in _EXCLUSIVE:
        if first in values and second in values:
            raise ValidationError(
                ai_field(second), f"AI ({second}) must not be used together with ({first})"
            )
    ordered = tuple(sorted(values.items(), key=lambda kv: (needs_separator(kv[0]), int(kv[0]))))
    parts: list[str] = []
    for index, (ai, value) in enumerate(ordered):
        parts.append(ai + value)
        if needs_separator(ai) and index < len(ordered) - 1:
            parts.append(GS)
    hri = "".join(f"({ai}){value}" for ai, value in ordered)
    return ElementString(payload="".join(parts), hri=hri, ais=ordered)


def encode_unit(
    gtin: str,
    serial: str,
    lot: str,
    expiry: str,
    extra: Sequence[tuple[str, str]] = (),
    *,
    today: dt.date | None = None,
) -> ElementString:
    """Drug pack DataMatrix content: (01)(17)(10)(21) plus national AIs such as (712)."""
    if isinstance(extra, str | bytes) or not isinstance(extra, Sequence):
        raise ValidationError("extra", "must be a sequence of (AI, value) pairs")
    return encode([("01", gtin), ("17", expiry), ("10", lot), ("21", serial), *extra], today=today)


@dataclass(frozen=True)
class ParsedElementString:
    """Result of parsing scanner output, HRI or a Digital Link.

    ``ais`` holds every (AI, value) in input order (values normalised: GTIN-14);
    ``element_string`` is the canonical re-encoding.
    """

    gtin: str | None
    serial: str | None
    lot: str | None
    expiry: str | None
    ais: tuple[tuple[str, str], ...]
    element_string: ElementString

    def get(self, ai: str) -> str | None:
        """The value of ``ai``, or ``None``."""
        return self.element_string.get(ai)

    @property
    def sscc(self) -> str | None:
        return self.get("00")

    @property
    def gln(self) -> str | None:
        return self.get("414")

    def expiry_date(self, today: dt.date | None = None) -> dt.date | None:
        """The expiry as a date (century window relative to ``today``), or ``None``."""
        return None if self.expiry is None else yymmdd_to_date(self.expiry, today)


def parsed_from_ais(
    ais: Sequence[tuple[str, str]], *, today: dt.date | None = None
) -> ParsedElementString:
    """Validate (AI, value) pairs and wrap them as a :class:`ParsedElementString`."""
    element_string = encode(ais, today=today)
    values = dict(element_string.ais)
    in_order = tuple((ai, values[ai]) for ai, _ in ais)
    return ParsedElementString(
        gtin=values.get("01"),
        serial=values.get("21"),
        lot=values.get("10"),
        expiry=values.get("17"),
        ais=in_order,
        element_string=element_string,
    )


def _strip_symbology_identifier(text: str) -> tuple[str, str | None]:
    if not text.startswith("]"):
        return text, None
    symbology = text[:3]
    if symbology not in SYMBOLOGY_IDENTIFIERS and symbology != "]Q1":
        raise ValidationError(
            "element_string",
            f"unsupported symbology identifier {symbology!r}; expected one of "
            f"{', '.join(SYMBOLOGY_IDENTIFIERS)}",
        )
    return text[3:], symbology


_HRI_TOKEN: Final = re.compile(r"\((\d{2,4})\)", re.ASCII)


def _is_known_ai(ai: str) -> bool:
    try:
        _lookup_ai(ai)
    except ValidationError:
        return False
    return True


def _parse_hri(text: str) -> list[tuple[str, str]]:
    """Split ``(AI)value(AI)value…``.

    Predefined-length values have their fixed length; any other value runs to the next
    ``(<known AI>)``. Parentheses are legal CSET 82 data, so a value containing ``(<known AI>)``
    cannot be told apart from the next element: HRI is accepted for manual entry only.
    """
    text = "".join(text.split())
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _HRI_TOKEN.match(text, pos)
        if match is None:
            raise ValidationError("hri", f"expected '(AI)' at position {pos + 1}")
        ai = match.group(1)
        _lookup_ai(ai)
        start = match.end()
        if ai[:2] in _PREDEFINED_TOTAL:
            end = min(start + _PREDEFINED_TOTAL[ai[:2]] - len(ai), len(text))
        else:
            end = len(text)
            for candidate in _HRI_TOKEN.finditer(text, start + 1):
                if _is_known_ai(candidate.group(1)):
                    end = candidate.start()
                    break
        pairs.append((ai, text[start:end]))
        pos = end
    return pairs


def _candidate_value(ai: str, rest: str) -> str:
    """The raw value of ``ai`` at the start of ``rest`` as a strict reader sees it."""
    body = rest[len(ai) :]
    if ai[:2] in _PREDEFINED_TOTAL:
        return body[: _PREDEFINED_TOTAL[ai[:2]] - len(ai)]
    return body.split(GS, 1)[0]


def _split_element_string(data: str) -> list[tuple[str, str]]:
    """Split an element string with GS separators, element by element with biip, and check the
    separators strictly (biip cuts an unterminated variable-length field at its maximum length
    and reads on; GS1 requires the separator, so that is refused, never guessed)."""
    from biip import ParseConfig
    from biip.gs1_element_strings import GS1ElementString

    if not data:
        raise ValidationError("element_string", "is empty")
    config = ParseConfig(separator_chars=[GS])
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < len(data):
        rest = data[pos:]
        if len(rest) < 2 or not is_digits(rest[:2]):
            raise ValidationError(
                "element_string",
                f"expected a numeric Application Identifier at position {pos + 1}",
            )
        try:
            ai = GS1ApplicationIdentifier.extract(rest).ai
        except Exception as exc:  # biip.ParseError: no AI matches
            raise ValidationError(
                "element_string", f"unknown Application Identifier at position {pos + 1}"
            ) from exc
        candidate = _candidate_value(ai, rest)
        try:
            value = GS1ElementString.extract(rest, config=config).value
        except Exception as exc:  # biip refused the value: report the rule it broke
            if ai[:2] in _PREDEFINED_TOTAL:
                length = _PREDEFINED_TOTAL[ai[:2]] - len(ai)
                if len(candidate) != length:
                    raise ValidationError(
                        ai_field(ai), f"({ai}) must be {length} digits, got {len(candidate)}"
                    ) from exc
            validate_ai_value(ai, candidate)
            raise ValidationError(
                ai_field(ai), f"does not match the format of ({ai}): {_lookup_ai(ai).format}"
            ) from exc
        pos += len(ai) + len(value)
        pairs.append((ai, value))
        if pos < len(data) and data[pos] == GS:
            while pos < len(data) and data[pos] == GS:
                pos += 1
        elif pos < len(data) and needs_separator(ai):
            try:
                validate_ai_value(ai, candidate)
                rule = "separator missing"
            except ValidationError as exc:
                rule = exc.rule
            raise ValidationError(
                ai_field(ai),
                f"variable-length ({ai}) is not terminated by GS/FNC1: {rule}",
            )
    return pairs


def parse(
    text: str, *, separators: Sequence[str] = (), today: dt.date | None = None
) -> ParsedElementString:
    """Parse what a scanner returns (or an HRI typed by hand) into validated AIs.

    Accepts an optional symbology identifier (``]d2``, ``]C1``, ``]Q3``, ``]e0``), GS (ASCII 29)
    or a literal FNC1 marker (``<FNC1>``, ``[FNC1]``, ``{FNC1}``, ``<GS>``, ``␝``) as separators,
    extra GS substitutes in ``separators`` (e.g. ``"~"`` for a keyboard wedge), the bracketed HRI
    form and a GS1 Digital Link URI (GS1 QR). Raises only :class:`ValidationError`.
    """
    if not isinstance(text, str):
        raise ValidationError("element_string", "must be a string")
    for sep in separators:
        if not isinstance(sep, str) or not sep:
            raise ValidationError("separators", "each separator substitute must be non-empty text")
    data, symbology = _strip_symbology_identifier(text.strip(" \t\r\n"))
    if data[:8].lower().startswith(("https://", "http://")):
        from serialtrace.gs1.digital_link import parse_digital_link

        return parse_digital_link(data, today=today)
    if symbology == "]Q1":
        raise ValidationError("element_string", "]Q1 (plain QR) data must be a Digital Link URI")
    for marker in (*FNC1_MARKERS, *separators):
        data = data.replace(marker, GS)
    data = data.lstrip(GS)
    if data.startswith("("):
        pairs = _parse_hri(data.replace(GS, ""))
    else:
        pairs = _split_element_string(data)
    return parsed_from_ais(pairs, today=today)
