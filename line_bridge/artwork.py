"""Human-readable lines printed beside the DataMatrix, per artwork template.

A template is a market profile's ``[hri]`` section (serialtrace/markets/profiles/*.toml):
``us-dscsa`` prints NDC / SN / LOT / EXP, ``eu-fmd`` PC / SN / NN / Lot / EXP (the NN line,
the national number, only for a member state whose NHRN rule is ``required``; expiry as
the profile formats it), ``sa-sfda`` GTIN / SN / Batch / EXP. Where the member state needs
a national number, its value (the batch's ``nhrn``) is also encoded in the DataMatrix
under the member state's AI (710 PZN for Germany, 712 for Spain, 714 for Portugal).
"""

from __future__ import annotations

from datetime import date
from functools import cache

from serialtrace.errors import ValidationError
from serialtrace.markets.loader import builtin_profile_texts, parse_profile_text
from serialtrace.markets.profile import MarketProfile, NhrnRule

#: artwork template → market profile id
TEMPLATES = {"us-dscsa": "US-DSCSA", "eu-fmd": "EU-FMD", "sa-sfda": "SA-SFDA"}
ARTWORK = tuple(TEMPLATES)


@cache
def _profile(template: str) -> MarketProfile:
    if template not in TEMPLATES:
        known = ", ".join(ARTWORK)
        raise ValidationError("artwork", f"unknown template {template!r}; known: {known}")
    profiles = {}
    for name, text in builtin_profile_texts():
        profile = parse_profile_text(text, name)
        profiles[profile.market_id] = profile
    return profiles[TEMPLATES[template]]


def national_rule(template: str, member_state: str | None) -> NhrnRule | None:
    """The national number (NHRN) the packs of ``member_state`` need, if any."""
    return _profile(template).nhrn_for(member_state)


def lines_for(
    template: str,
    gtin: str,
    ndc: str | None,
    serial: str,
    lot: str,
    expiry: date,
    *,
    member_state: str | None = None,
    nhrn: str | None = None,
) -> list[str]:
    """Human-readable lines of ``template`` (a line file's ``artwork``), in print order."""
    profile = _profile(template)
    values = {
        "gtin": gtin,
        "serial": serial,
        "lot": lot,
        "expiry": expiry.strftime(profile.expiry_format),
    }
    if ndc:
        values["ndc"] = ndc
    elif template == "us-dscsa":
        raise ValidationError("ndc", "the US artwork template needs the product's NDC")
    rule = profile.nhrn_for(member_state)
    if rule is not None:
        if not nhrn:
            raise ValidationError(
                "nhrn", f"packs for {member_state} need the {rule.name} (AI {rule.ai}): give --nhrn"
            )
        values["nhrn"] = profile.validate_nhrn(str(member_state), nhrn)
    return profile.render_hri(values, member_state)


def sscc_label_lines(level: str, sscc: str) -> list[str]:
    """Human-readable lines of a case or pallet label (its barcode holds ``00<SSCC>``)."""
    return [f"SSCC {sscc}", "PALLET" if level == "pallet" else "CASE"]
