"""The forms a verification query may take, all resolved to one :class:`ProductIdentifier`.

* GS1 Digital Link URI (the standard's request; any host and path prefix),
* scanned element string (``]d2`` + AIs with GS) or HRI typed by hand,
* GTIN (or NDC, SNOMED CT code, proprietary product code) + serial + lot + expiry as
  separate fields.

NDC, SNOMED CT and proprietary codes are mapped to the GTIN through the product master
(:class:`ProductCatalog`); a code that maps to no GTIN, or to several, is refused with the
field named. Pure, no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from serialtrace.errors import ValidationError
from serialtrace.gs1.digital_link import parse_digital_link
from serialtrace.gs1.element_string import ParsedElementString, parse
from serialtrace.gs1.keys import gtin14_from_ndc, normalize_gtin
from verification.messages import ProductIdentifier

__all__ = ["KEY_FIELDS", "CatalogProduct", "ProductCatalog", "identifier_from_fields", "parse_text"]

#: Product-key fields a query may use instead of a GTIN, in the order they are tried.
KEY_FIELDS: Final = ("gtin", "ndc", "productCode", "snomed")

_NDC: Final = re.compile(r"\d{4,5}-\d{3,4}-\d{1,2}|\d{10,11}")


@dataclass(frozen=True)
class CatalogProduct:
    gtin: str
    company_id: str | None = None
    product_name: str | None = None
    ndc: str | None = None
    ndc11: str | None = None
    snomed_ct_code: str | None = None
    proprietary_code: str | None = None


@dataclass
class ProductCatalog:
    """Product master lookups: NDC / NDC-11 / SNOMED CT / proprietary code → GTIN."""

    products: dict[str, CatalogProduct] = field(default_factory=dict)
    _by_ndc: dict[str, set[str]] = field(default_factory=dict)
    _by_snomed: dict[str, set[str]] = field(default_factory=dict)
    _by_code: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, products: Iterable[CatalogProduct]) -> ProductCatalog:
        catalog = cls()
        for product in products:
            catalog.products[product.gtin] = product
            for ndc in (product.ndc, product.ndc11):
                if ndc:
                    catalog._by_ndc.setdefault(ndc.replace("-", ""), set()).add(product.gtin)
            if product.snomed_ct_code:
                catalog._by_snomed.setdefault(product.snomed_ct_code, set()).add(product.gtin)
            if product.proprietary_code:
                catalog._by_code.setdefault(product.proprietary_code, set()).add(product.gtin)
        return catalog

    @staticmethod
    def _only(found: set[str] | None, name: str, value: str) -> str:
        if not found:
            raise ValidationError(name, f"{value!r} is not in the product master")
        if len(found) > 1:
            raise ValidationError(
                name, f"{value!r} names several GTINs ({', '.join(sorted(found))}): give the GTIN"
            )
        return next(iter(found))

    def gtin_for_ndc(self, ndc: str) -> str:
        if not _NDC.fullmatch(ndc):
            raise ValidationError("ndc", "must be a 10-digit NDC (4-4-2, 5-3-2, 5-4-1) or NDC-11")
        digits = ndc.replace("-", "")
        found = self._by_ndc.get(digits)
        if found:
            return self._only(found, "ndc", ndc)
        if "-" in ndc:  # not in the master: the base-unit GTIN the NDC makes
            return gtin14_from_ndc(ndc)
        raise ValidationError("ndc", f"{ndc!r} is not in the product master")

    def gtin_for_snomed(self, code: str) -> str:
        return self._only(self._by_snomed.get(code), "snomed", code)

    def gtin_for_code(self, code: str) -> str:
        return self._only(self._by_code.get(code), "productCode", code)


def _from_parsed(parsed: ParsedElementString, source: str) -> ProductIdentifier:
    if parsed.gtin is None:
        raise ValidationError(source, "carries no GTIN (01)")
    if parsed.serial is None:
        raise ValidationError("serial", f"the {source} carries no serial (21)")
    return ProductIdentifier(parsed.gtin, parsed.serial, parsed.lot, parsed.expiry)


def parse_text(
    text: str, *, separators: Iterable[str] = (), today: dt.date | None = None
) -> ProductIdentifier:
    """A scanned element string, an HRI or a Digital Link URI → product identifier."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("code", "is empty")
    stripped = text.strip()
    if stripped.lower().startswith(("http://", "https://")):
        return _from_parsed(parse_digital_link(stripped, today=today), "digital_link")
    return _from_parsed(parse(stripped, separators=tuple(separators), today=today), "code")


def _param(params: Mapping[str, list[str]], *names: str) -> str | None:
    found = [(n, v) for n in names for v in params.get(n, [])]
    if len(found) > 1:
        raise ValidationError(names[0], "must be given once")
    return found[0][1] if found else None


def identifier_from_fields(
    params: Mapping[str, list[str]], catalog: ProductCatalog, *, today: dt.date | None = None
) -> tuple[ProductIdentifier, str]:
    """The identifier named by separate query fields, and the form used.

    ``code`` (scanned text or Digital Link) alone, or one product key (``gtin``/``01``,
    ``ndc``, ``productCode``, ``snomed``) with ``serial``/``21`` and optionally
    ``lot``/``10`` and ``exp``/``17``.
    """
    code = _param(params, "code")
    if code is not None:
        form = "digital_link" if code.strip().lower().startswith("http") else "element_string"
        return parse_text(code, today=today), form
    gtin = _param(params, "gtin", "01")
    ndc = _param(params, "ndc")
    product_code = _param(params, "productCode")
    snomed = _param(params, "snomed")
    given = [n for n, v in zip(KEY_FIELDS, (gtin, ndc, product_code, snomed), strict=True) if v]
    if len(given) != 1:
        raise ValidationError(
            "gtin", "give exactly one of code, gtin, ndc, productCode, snomed to name the product"
        )
    if gtin is not None:
        resolved, form = normalize_gtin(gtin, "gtin"), "gtin"
    elif ndc is not None:
        resolved, form = catalog.gtin_for_ndc(ndc), "ndc"
    elif product_code is not None:
        resolved, form = catalog.gtin_for_code(product_code), "proprietary_code"
    else:
        assert snomed is not None
        resolved, form = catalog.gtin_for_snomed(snomed), "snomed"
    serial = _param(params, "serial", "21")
    if serial is None:
        raise ValidationError("serial", "is required")
    return (
        ProductIdentifier(
            resolved, serial, _param(params, "lot", "10"), _param(params, "exp", "17")
        ),
        form,
    )
