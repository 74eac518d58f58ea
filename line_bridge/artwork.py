"""Human-readable lines printed beside the DataMatrix, per artwork template."""

from __future__ import annotations

from datetime import date

from serialtrace.errors import ValidationError


def us_dscsa_lines(ndc: str | None, serial: str, lot: str, expiry: date) -> list[str]:
    """US layout: NDC / SN / LOT / EXP (expiry as YYYY-MM-DD)."""
    if not ndc:
        raise ValidationError("ndc", "the US artwork template needs the product's NDC")
    return [f"NDC {ndc}", f"SN {serial}", f"LOT {lot}", f"EXP {expiry.isoformat()}"]


def eu_fmd_lines(gtin: str, serial: str, lot: str, expiry: date) -> list[str]:
    """EU layout: PC (product code) / SN / LOT / EXP."""
    return [f"PC {gtin}", f"SN {serial}", f"LOT {lot}", f"EXP {expiry.isoformat()}"]


ARTWORK = ("us-dscsa", "eu-fmd")


def lines_for(
    template: str, gtin: str, ndc: str | None, serial: str, lot: str, expiry: date
) -> list[str]:
    """Human-readable lines of ``template`` (a line file's ``artwork``)."""
    if template == "us-dscsa":
        return us_dscsa_lines(ndc, serial, lot, expiry)
    if template == "eu-fmd":
        return eu_fmd_lines(gtin, serial, lot, expiry)
    raise ValidationError("artwork", f"unknown template {template!r}; known: {', '.join(ARTWORK)}")
