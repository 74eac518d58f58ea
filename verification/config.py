"""Settings of verification in one home: ``<home>/verification.toml`` (optional).

```toml
[responder]
gln = "0312345000011"              # responderGLN in every answer
client = "ACME"                    # optional: CMO mode, keys without a client are refused

[[directory]]                      # lookup directory of the requestor: GTIN prefix → responder
gtin_prefix = "0031234"
url = "http://127.0.0.1:8700"
api_key_env = "ACME_VRS_KEY"       # the key is read from this environment variable

[requestor]
gln = "0312345000011"              # reqGLN sent in our own queries

[[market]]                         # EU national verification systems (NMVS), one per market
code = "DE"
url = "http://127.0.0.1:8800"
user_env = "NMVS_DE_USER"
password_env = "NMVS_DE_PASSWORD"
```

Defaults (no file): responder and requestor GLN of the demo site, no directory, no market.
Secrets are never in the file: only the names of the environment variables holding them.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from serialtrace.config import load_demo_config
from serialtrace.errors import ConfigurationError, ValidationError
from serialtrace.gs1.keys import validate_gln

__all__ = ["DirectoryEntry", "Market", "VerificationConfig", "config_path", "load_config"]

_ENV_NAME: Final = re.compile(r"[A-Z_][A-Z0-9_]*")


def config_path(home_root: Path) -> Path:
    return home_root / "verification.toml"


@dataclass(frozen=True)
class DirectoryEntry:
    gtin_prefix: str
    url: str
    api_key_env: str

    def api_key(self) -> str:
        value = os.environ.get(self.api_key_env)
        if not value:
            raise ConfigurationError(
                f"directory entry {self.gtin_prefix}: environment variable {self.api_key_env} "
                "holding the responder's API key is not set"
            )
        return value


@dataclass(frozen=True)
class Market:
    code: str
    url: str
    user_env: str
    password_env: str

    def credentials(self) -> tuple[str, str]:
        user, password = os.environ.get(self.user_env), os.environ.get(self.password_env)
        if not user or not password:
            raise ConfigurationError(
                f"market {self.code}: set {self.user_env} and {self.password_env} "
                "(NMVS credentials come from the environment only)"
            )
        return user, password


@dataclass(frozen=True)
class VerificationConfig:
    responder_gln: str
    requestor_gln: str
    client: str | None = None
    directory: tuple[DirectoryEntry, ...] = field(default_factory=tuple)
    markets: dict[str, Market] = field(default_factory=dict)

    def route(self, gtin: str) -> DirectoryEntry | None:
        """The directory entry with the longest GTIN prefix matching ``gtin``."""
        matches = [e for e in self.directory if gtin.startswith(e.gtin_prefix)]
        return max(matches, key=lambda e: len(e.gtin_prefix)) if matches else None


def _str(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{where}.{key}", "must be a non-empty string")
    return value


def _env(table: dict[str, Any], key: str, where: str) -> str:
    value = _str(table, key, where)
    if not _ENV_NAME.fullmatch(value):
        raise ValidationError(f"{where}.{key}", "must name an environment variable (A-Z, 0-9, _)")
    return value


def _url(table: dict[str, Any], key: str, where: str) -> str:
    value = _str(table, key, where)
    if not value.startswith(("http://", "https://")):
        raise ValidationError(f"{where}.{key}", "must be an http(s) URL")
    return value.rstrip("/")


def load_config(home_root: Path) -> VerificationConfig:
    default_gln = load_demo_config().site.gln
    path = config_path(home_root)
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{path}: {exc}") from exc
    responder = data.get("responder", {})
    requestor = data.get("requestor", {})
    responder_gln = validate_gln(str(responder.get("gln", default_gln)), "responder.gln")
    requestor_gln = validate_gln(str(requestor.get("gln", responder_gln)), "requestor.gln")
    client = responder.get("client")
    directory = []
    for i, entry in enumerate(data.get("directory", [])):
        where = f"directory[{i}]"
        prefix = _str(entry, "gtin_prefix", where)
        if not prefix.isdigit() or len(prefix) > 14:
            raise ValidationError(f"{where}.gtin_prefix", "must be 1-14 digits of a GTIN-14")
        directory.append(
            DirectoryEntry(prefix, _url(entry, "url", where), _env(entry, "api_key_env", where))
        )
    markets = {}
    for i, entry in enumerate(data.get("market", [])):
        where = f"market[{i}]"
        code = _str(entry, "code", where).upper()
        markets[code] = Market(
            code,
            _url(entry, "url", where),
            _env(entry, "user_env", where),
            _env(entry, "password_env", where),
        )
    return VerificationConfig(
        responder_gln,
        requestor_gln,
        str(client) if client else None,
        tuple(directory),
        markets,
    )
