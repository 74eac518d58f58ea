"""ERP/MES connections: ``<home>/erp.toml``, else the embedded ingest/defaults/erp.toml.

Each ``[connections.<name>]`` table names the connector ``kind``, the client
(``company_id``) every row it lands belongs to, its drop folder (relative to the home),
optionally an HTTP API (``url`` + ``paths``, bearer token read from the environment
variable named by ``token_env``, never from the file), the write-back format
(``writeback = "idoc" | "csv"``) and defaults for work-order fields the source does
not carry. Paths are relative to the home; absolute paths are refused.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serialtrace.errors import ConfigurationError, ValidationError
from serialtrace.settings import Home

KINDS = ("sap_idoc", "sap_odata", "oracle_csv", "oracle_rest", "mes")
WRITEBACK_FORMATS = ("idoc", "csv")
DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "defaults" / "erp.toml"
CONFIG_NAME = "erp.toml"


@dataclass(frozen=True)
class SftpSource:
    """A remote folder the connector pulls files from into its drop folder.

    The server's host key must be in ``known_hosts`` (relative to the home); the
    password comes from the environment variable ``password_env`` or the private key
    from ``key_file`` (relative to the home). Nothing secret is in the TOML file.
    """

    host: str
    port: int
    user: str
    path: str
    known_hosts: Path
    password_env: str | None = None
    key_file: Path | None = None


@dataclass(frozen=True)
class Connection:
    name: str
    kind: str
    company_id: str
    drop: Path  # absolute, below the home
    outbox: Path
    writeback: str = "idoc"
    url: str | None = None
    paths: tuple[str, ...] = ()
    token_env: str | None = None
    work_order_defaults: dict[str, Any] = field(default_factory=dict)
    sftp: SftpSource | None = None

    def token(self) -> str | None:
        """The API token from the environment; a named but unset variable is an error."""
        if not self.token_env:
            return None
        value = os.environ.get(self.token_env)
        if not value:
            raise ConfigurationError(
                f"connection {self.name}: environment variable {self.token_env} is not set"
            )
        return value


def erp_root(home: Home) -> Path:
    return home.root / "erp"


def quarantine_dir(home: Home, connection: str) -> Path:
    return erp_root(home) / "quarantine" / connection


def processed_dir(home: Home, connection: str) -> Path:
    return erp_root(home) / "processed" / connection


def load_connections(home: Home, path: Path | None = None) -> dict[str, Connection]:
    source = path or (home.root / CONFIG_NAME)
    if not source.is_file():
        source = DEFAULTS_FILE
    try:
        data = tomllib.loads(source.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"ERP connections file {source}: {exc}") from exc
    tables = data.get("connections")
    if not isinstance(tables, dict) or not tables:
        raise ValidationError(f"{source.name}: connections", "at least one connection")
    return {name: _connection(home, name, t) for name, t in tables.items()}


def _relative(home: Home, value: object, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ValidationError(where, "must be a folder relative to the home")
    if Path(value).is_absolute() or ".." in Path(value).parts:
        raise ValidationError(where, "must be relative to the home, without '..'")
    return home.root / value


def _connection(home: Home, name: str, t: dict[str, Any]) -> Connection:
    where = f"connections.{name}"
    kind = t.get("kind")
    if kind not in KINDS:
        raise ValidationError(f"{where}.kind", f"must be one of {', '.join(KINDS)}")
    company_id = t.get("company_id")
    if not isinstance(company_id, str) or not company_id:
        raise ValidationError(f"{where}.company_id", "is required (the client of the rows)")
    writeback = t.get("writeback", "idoc")
    if writeback not in WRITEBACK_FORMATS:
        raise ValidationError(f"{where}.writeback", "must be 'idoc' or 'csv'")
    url = t.get("url")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise ValidationError(f"{where}.url", "must be an http(s) URL")
    paths = t.get("paths", [""] if url else [])
    return Connection(
        name=name,
        kind=kind,
        company_id=company_id,
        drop=_relative(home, t.get("drop", f"erp/inbox/{name}"), f"{where}.drop"),
        outbox=_relative(home, t.get("outbox", f"erp/outbox/{name}"), f"{where}.outbox"),
        writeback=writeback,
        url=url,
        paths=tuple(str(p) for p in paths),
        token_env=t.get("token_env"),
        work_order_defaults=dict(t.get("work_order_defaults", {})),
        sftp=_sftp(home, where, t["sftp"]) if "sftp" in t else None,
    )


def _sftp(home: Home, where: str, t: dict[str, Any]) -> SftpSource:
    for key in ("host", "user", "path", "known_hosts"):
        if not isinstance(t.get(key), str) or not t[key]:
            raise ValidationError(f"{where}.sftp.{key}", "is required")
    if not t.get("password_env") and not t.get("key_file"):
        raise ValidationError(f"{where}.sftp", "needs password_env or key_file")
    port = t.get("port", 22)
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ValidationError(f"{where}.sftp.port", "must be a TCP port")
    return SftpSource(
        host=t["host"],
        port=port,
        user=t["user"],
        path=t["path"],
        known_hosts=_relative(home, t["known_hosts"], f"{where}.sftp.known_hosts"),
        password_env=t.get("password_env"),
        key_file=_relative(home, t["key_file"], f"{where}.sftp.key_file")
        if t.get("key_file")
        else None,
    )
