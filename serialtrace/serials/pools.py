"""Pools made from market profiles: a pool takes its rules (length, alphabet, randomized or
sequential, guessing cap, warning threshold) from its market unless told otherwise, and
is refused when it breaks them."""

from __future__ import annotations

from serialtrace.errors import ValidationError
from serialtrace.gs1.keys import normalize_gtin
from serialtrace.markets.loader import get_market, load_markets
from serialtrace.markets.profile import MarketProfile, resolve_alphabet
from serialtrace.serials.ledger import CSET82_ALPHABET, Pool

__all__ = ["default_pool_id", "demo_pool", "pool_from_market"]


def default_pool_id(client: str, market_id: str, gtin: str) -> str:
    return f"{client}-{market_id}-{gtin}"


def pool_from_market(
    market: MarketProfile,
    *,
    client: str,
    gtin: str,
    pool_id: str | None = None,
    mode: str | None = None,
    length: int | None = None,
    alphabet: str | None = None,
    prefix: str = "",
    first: str | None = None,
    last: str | None = None,
    warn_below: float | None = None,
) -> Pool:
    """A checked :class:`Pool` for one client and GTIN in ``market``."""
    rules = market.serials
    gtin = normalize_gtin(gtin)
    mode = mode or rules.default_mode
    if mode == "imported":
        chars = resolve_alphabet(alphabet) if alphabet else CSET82_ALPHABET
        size = length or rules.max_length
    else:
        chars = resolve_alphabet(alphabet) if alphabet else rules.default_alphabet
        size = length or rules.default_length
    market.check_pool(mode, size, chars)
    if mode != "sequential" and (first or last):
        raise ValidationError("first", "only sequential pools take --first/--last")
    pool = Pool(
        pool_id or default_pool_id(client, market.market_id, gtin),
        gtin,
        market.market_id,
        size,
        chars,
        mode == "randomized",
        client=client,
        imported=mode == "imported",
        prefix=prefix,
        first=first,
        last=last,
        warn_below=rules.warn_below if warn_below is None else warn_below,
        max_guess_probability=rules.max_guess_probability,
    )
    return pool.normalized()


def demo_pool(
    pool_id: str,
    client: str,
    gtin: str,
    market_id: str,
    length: int,
    alphabet: str,
    randomized: bool,
) -> Pool:
    """The demo's pool, checked against its (shipped) market profile."""
    market = get_market(load_markets(), market_id)
    return pool_from_market(
        market,
        client=client,
        gtin=gtin,
        pool_id=pool_id,
        mode="randomized" if randomized else "sequential",
        length=length,
        alphabet=alphabet,
    )
