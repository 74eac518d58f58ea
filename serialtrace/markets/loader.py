"""Load market profiles: the shipped ones, ``<home>/markets/*.toml`` and files named on the
command line. Adding a market is adding a file."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from serialtrace.errors import ConfigurationError, ValidationError
from serialtrace.markets.profile import MarketProfile, parse_profile

__all__ = [
    "builtin_profile_texts",
    "get_market",
    "load_markets",
    "market_files",
    "parse_profile_text",
]


def builtin_profile_texts() -> list[tuple[str, str]]:
    """(name, TOML text) of every profile shipped in ``serialtrace/markets/profiles/``."""
    folder = resources.files("serialtrace.markets").joinpath("profiles")
    return sorted(
        (f"builtin:{item.name}", item.read_text(encoding="utf-8"))
        for item in folder.iterdir()
        if item.name.endswith(".toml")
    )


def parse_profile_text(text: str, source: str) -> MarketProfile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"market profile {source} is not valid TOML: {exc}") from exc
    return parse_profile(data, source)


def market_files(home_root: Path | None, extra: Iterable[Path] = ()) -> list[Path]:
    """``<home>/markets/*.toml`` then the extra files (or folders of ``*.toml``)."""
    files: list[Path] = []
    folders = [home_root / "markets"] if home_root is not None else []
    for item in [*folders, *extra]:
        if item.is_dir():
            files.extend(sorted(item.glob("*.toml")))
        elif item.is_file():
            files.append(item)
        elif item not in folders:
            raise ConfigurationError(f"market profile {item} not found")
    return files


def load_markets(
    home_root: Path | None = None, extra: Iterable[Path] = ()
) -> dict[str, MarketProfile]:
    """Every market profile by id. Two files defining one market id is an error (a
    regulatory profile is never silently overridden)."""
    sources: list[tuple[str, str]] = builtin_profile_texts()
    for path in market_files(home_root, extra):
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise ConfigurationError(f"cannot read market profile {path}: {exc}") from exc
    markets: dict[str, MarketProfile] = {}
    for source, text in sources:
        profile = parse_profile_text(text, source)
        if profile.market_id in markets:
            first = markets[profile.market_id].source
            raise ConfigurationError(
                f"market {profile.market_id} is defined twice: {first} and {source}"
            )
        markets[profile.market_id] = profile
    return markets


def get_market(markets: dict[str, MarketProfile], market_id: str) -> MarketProfile:
    try:
        return markets[market_id]
    except KeyError:
        known = ", ".join(sorted(markets))
        raise ValidationError("market", f"unknown market {market_id!r} (known: {known})") from None
