"""EPC pure identity URIs (GS1 EPC Tag Data Standard) for SGTIN, SSCC, SGLN, LGTIN, SGTIN pattern.

A pure identity URI drops the check digit and puts a dot at the GS1 Company Prefix (GCP)
boundary. The GCP length cannot be derived from the key's digits, so it is always an explicit
argument (from GS1's GCP length table or product master data), never inferred.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from serialtrace.errors import ValidationError
from serialtrace.gs1.charset import validate_cset82, validate_lot, validate_serial
from serialtrace.gs1.checkdigit import check_digit, is_digits
from serialtrace.gs1.keys import normalize_gtin, validate_gln, validate_sscc

__all__ = [
    "EPC_SCHEMES",
    "EpcIdentifier",
    "epc_escape",
    "epc_unescape",
    "epc_uri_from_ais",
    "lgtin_uri",
    "parse_epc_uri",
    "sgln_uri",
    "sgtin_pattern_uri",
    "sgtin_uri",
    "sscc_uri",
]

#: TDS partition tables: GCP lengths an EPC can carry.
CPL_MIN: Final = 6
CPL_MAX: Final = 12

#: Characters of CSET 82 that stay literal in an EPC URI component (TDS Table A-1).
_EPC_LITERAL: Final = frozenset(string.ascii_letters + string.digits + "!'()*+,-.:;=_")
#: The seven characters TDS requires to be percent-escaped.
_EPC_ESCAPES: Final = {
    '"': "%22",
    "%": "%25",
    "&": "%26",
    "/": "%2F",
    "<": "%3C",
    ">": "%3E",
    "?": "%3F",
}
_EPC_UNESCAPES: Final = {code: char for char, code in _EPC_ESCAPES.items()}

_PREFIXES: Final = {
    "urn:epc:id:sgtin:": "sgtin",
    "urn:epc:id:sscc:": "sscc",
    "urn:epc:id:sgln:": "sgln",
    "urn:epc:class:lgtin:": "lgtin",
    "urn:epc:idpat:sgtin:": "idpat-sgtin",
}
EPC_SCHEMES: Final = tuple(_PREFIXES.values())


def epc_escape(value: str) -> str:
    """Percent-escape ``" % & / < > ?`` as TDS requires; the rest of CSET 82 stays literal."""
    return "".join(_EPC_ESCAPES.get(char, char) for char in value)


def epc_unescape(text: str, field: str) -> str:
    """Undo :func:`epc_escape`; other ``%`` sequences or characters outside the set are errors."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%":
            code = text[i : i + 3].upper()
            if code not in _EPC_UNESCAPES:
                raise ValidationError(
                    field,
                    f"invalid escape {text[i : i + 3]!r}: only %22 %25 %26 %2F %3C %3E %3F allowed",
                )
            out.append(_EPC_UNESCAPES[code])
            i += 3
            continue
        if char not in _EPC_LITERAL:
            raise ValidationError(
                field, f"character {char!r} must be percent-escaped or is not allowed in an EPC URI"
            )
        out.append(char)
        i += 1
    return "".join(out)


def _check_cpl(company_prefix_length: int) -> int:
    if isinstance(company_prefix_length, bool) or not isinstance(company_prefix_length, int):
        raise ValidationError("company_prefix_length", "must be an integer")
    if not CPL_MIN <= company_prefix_length <= CPL_MAX:
        raise ValidationError(
            "company_prefix_length",
            f"must be {CPL_MIN}..{CPL_MAX} (EPC partition table), got {company_prefix_length}",
        )
    return company_prefix_length


def _gtin_parts(gtin: str, company_prefix_length: int) -> tuple[str, str]:
    gtin14 = normalize_gtin(gtin)
    cpl = _check_cpl(company_prefix_length)
    # The indicator digit moves to the front of the item reference.
    return gtin14[1 : 1 + cpl], gtin14[0] + gtin14[1 + cpl : 13]


def sgtin_uri(gtin: str, serial: str, company_prefix_length: int) -> str:
    """``urn:epc:id:sgtin:<GCP>.<indicator+item ref>.<escaped serial>``."""
    company_prefix, item = _gtin_parts(gtin, company_prefix_length)
    validate_serial(serial)
    return f"urn:epc:id:sgtin:{company_prefix}.{item}.{epc_escape(serial)}"


def lgtin_uri(gtin: str, lot: str, company_prefix_length: int) -> str:
    """``urn:epc:class:lgtin:<GCP>.<indicator+item ref>.<escaped lot>`` (EPC class URI)."""
    company_prefix, item = _gtin_parts(gtin, company_prefix_length)
    validate_lot(lot)
    return f"urn:epc:class:lgtin:{company_prefix}.{item}.{epc_escape(lot)}"


def sgtin_pattern_uri(gtin: str, company_prefix_length: int) -> str:
    """``urn:epc:idpat:sgtin:<GCP>.<indicator+item ref>.*`` (all serials of one GTIN)."""
    company_prefix, item = _gtin_parts(gtin, company_prefix_length)
    return f"urn:epc:idpat:sgtin:{company_prefix}.{item}.*"


def sscc_uri(sscc: str, company_prefix_length: int) -> str:
    """``urn:epc:id:sscc:<GCP>.<extension digit+serial ref>``."""
    validate_sscc(sscc)
    cpl = _check_cpl(company_prefix_length)
    return f"urn:epc:id:sscc:{sscc[1 : 1 + cpl]}.{sscc[0]}{sscc[1 + cpl : 17]}"


def sgln_uri(gln: str, company_prefix_length: int, extension: str = "0") -> str:
    """``urn:epc:id:sgln:<GCP>.<location ref>.<extension>``; extension ``0`` = no AI (254)."""
    validate_gln(gln)
    cpl = _check_cpl(company_prefix_length)
    validate_cset82(extension, "extension")
    return f"urn:epc:id:sgln:{gln[:cpl]}.{gln[cpl:12]}.{epc_escape(extension)}"


@dataclass(frozen=True)
class EpcIdentifier:
    """A parsed EPC pure identity / class / pattern URI.

    ``scheme`` is one of ``sgtin``, ``sscc``, ``sgln``, ``lgtin``, ``idpat-sgtin``. The GS1 key is
    in ``gtin`` (GTIN-14), ``sscc`` or ``gln``; ``serial``, ``lot`` and ``extension`` are
    unescaped. For SGLN an ``extension`` of ``"0"`` means "no GLN extension (254)".
    """

    scheme: str
    company_prefix_length: int
    gtin: str | None = None
    sscc: str | None = None
    gln: str | None = None
    serial: str | None = None
    lot: str | None = None
    extension: str | None = None

    @property
    def uri(self) -> str:
        """The canonical URI (uppercase escapes)."""
        cpl = self.company_prefix_length
        if self.scheme == "sgtin" and self.gtin is not None and self.serial is not None:
            return sgtin_uri(self.gtin, self.serial, cpl)
        if self.scheme == "lgtin" and self.gtin is not None and self.lot is not None:
            return lgtin_uri(self.gtin, self.lot, cpl)
        if self.scheme == "idpat-sgtin" and self.gtin is not None:
            return sgtin_pattern_uri(self.gtin, cpl)
        if self.scheme == "sscc" and self.sscc is not None:
            return sscc_uri(self.sscc, cpl)
        if self.scheme == "sgln" and self.gln is not None:
            return sgln_uri(self.gln, cpl, self.extension or "0")
        raise ValidationError("epc_uri", f"incomplete {self.scheme} identifier")

    @property
    def ais(self) -> tuple[tuple[str, str], ...]:
        """The identifier as GS1 (AI, value) pairs; an SGLN extension ``0`` gives no (254)."""
        if self.gtin is not None:
            pairs: list[tuple[str, str]] = [("01", self.gtin)]
            if self.lot is not None:
                pairs.append(("10", self.lot))
            if self.serial is not None:
                pairs.append(("21", self.serial))
            return tuple(pairs)
        if self.sscc is not None:
            return (("00", self.sscc),)
        if self.gln is not None:
            if self.extension is None or self.extension == "0":
                return (("414", self.gln),)
            return (("414", self.gln), ("254", self.extension))
        return ()


def _split_numeric(body: str, parts: int, total: int, field: str) -> tuple[str, str, list[str]]:
    pieces = body.split(".", parts - 1)
    if len(pieces) != parts:
        raise ValidationError(field, f"must have {parts} dot-separated parts, got {len(pieces)}")
    company_prefix, middle = pieces[0], pieces[1]
    if not is_digits(company_prefix) or not CPL_MIN <= len(company_prefix) <= CPL_MAX:
        raise ValidationError(
            field, f"company prefix must be {CPL_MIN}..{CPL_MAX} digits, got {company_prefix!r}"
        )
    if (middle and not is_digits(middle)) or len(company_prefix) + len(middle) != total:
        raise ValidationError(
            field,
            f"company prefix + second part must be {total} digits, got "
            f"{company_prefix!r}.{middle!r}",
        )
    return company_prefix, middle, pieces[2:]


def parse_epc_uri(uri: str) -> EpcIdentifier:
    """Parse an SGTIN/SSCC/SGLN pure identity URI, an LGTIN class URI or an SGTIN pattern URI.

    The check digit is recomputed; serial, lot and extension are unescaped and validated.
    """
    field = "epc_uri"
    if not isinstance(uri, str):
        raise ValidationError(field, "must be a string")
    text = uri.strip()
    scheme = None
    body = ""
    for prefix, name in _PREFIXES.items():
        if text[: len(prefix)].lower() == prefix:
            scheme, body = name, text[len(prefix) :]
            break
    if scheme is None:
        raise ValidationError(
            field,
            "must start with urn:epc:id:sgtin|sscc|sgln:, urn:epc:class:lgtin: or "
            "urn:epc:idpat:sgtin:",
        )
    if scheme in ("sgtin", "lgtin", "idpat-sgtin"):
        company_prefix, item, rest = _split_numeric(body, 3, 13, field)
        if not item:
            raise ValidationError(field, "indicator/item reference part must not be empty")
        body13 = item[0] + company_prefix + item[1:]
        gtin = body13 + check_digit(body13)
        cpl = len(company_prefix)
        if scheme == "idpat-sgtin":
            if rest[0] != "*":
                raise ValidationError(field, "SGTIN pattern must end in .* (CP.IndItemRef.*)")
            return EpcIdentifier(scheme=scheme, company_prefix_length=cpl, gtin=gtin)
        value = epc_unescape(rest[0], field)
        if scheme == "sgtin":
            validate_serial(value, "serial")
            return EpcIdentifier(scheme=scheme, company_prefix_length=cpl, gtin=gtin, serial=value)
        validate_lot(value, "lot")
        return EpcIdentifier(scheme=scheme, company_prefix_length=cpl, gtin=gtin, lot=value)
    if scheme == "sscc":
        company_prefix, serial_ref, _ = _split_numeric(body, 2, 17, field)
        if not serial_ref:
            raise ValidationError(field, "extension digit + serial reference must not be empty")
        body17 = serial_ref[0] + company_prefix + serial_ref[1:]
        return EpcIdentifier(
            scheme=scheme,
            company_prefix_length=len(company_prefix),
            sscc=body17 + check_digit(body17),
        )
    company_prefix, location_ref, rest = _split_numeric(body, 3, 12, field)
    body12 = company_prefix + location_ref
    extension = epc_unescape(rest[0], field)
    validate_cset82(extension, "extension")
    return EpcIdentifier(
        scheme=scheme,
        company_prefix_length=len(company_prefix),
        gln=body12 + check_digit(body12),
        extension=extension,
    )


def epc_uri_from_ais(
    ais: Sequence[tuple[str, str]], company_prefix_length: int | None
) -> str | None:
    """The EPC URI for a set of AIs: SGTIN (01+21), LGTIN (01+10), SGTIN pattern (01 alone),
    SSCC (00) or SGLN (414 [+254]). ``None`` if no company-prefix length is given or no key fits.
    """
    if company_prefix_length is None:
        return None
    values = dict(ais)
    if "01" in values:
        if "21" in values:
            return sgtin_uri(values["01"], values["21"], company_prefix_length)
        if "10" in values:
            return lgtin_uri(values["01"], values["10"], company_prefix_length)
        return sgtin_pattern_uri(values["01"], company_prefix_length)
    if "00" in values:
        return sscc_uri(values["00"], company_prefix_length)
    if "414" in values:
        return sgln_uri(values["414"], company_prefix_length, values.get("254", "0"))
    return None
