"""Markets as configuration: one TOML profile per regulatory regime (see docs/serials.md)."""

from serialtrace.markets.loader import get_market, load_markets
from serialtrace.markets.profile import MarketProfile, parse_profile, resolve_alphabet

__all__ = ["MarketProfile", "get_market", "load_markets", "parse_profile", "resolve_alphabet"]
