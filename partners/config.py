"""Trading partners: ``<home>/partners.toml`` (else the embedded demo defaults), typed and checked.

Each ``[[partner]]`` names the partner (``id``, ``name``, party ``gln``, ``location_gln``,
``role``), what it receives (``epcis_format`` one of ``1.2-xml``, ``2.0-xml``, ``2.0-jsonld``;
``transaction_history``), when (``schedule``, a 5-field cron expression), how long it may
take to acknowledge (``ack_deadline_minutes``), whether it is live (``go_live``) and one
``[partner.transport]`` table (``kind`` = ``sftp``, ``as2`` or ``http`` and its settings).

One optional ``[products]`` table names the products whose shipping files always carry the
DSCSA Transaction History, whoever the buyer is (``transaction_history_gtins``,
``transaction_history_ndcs``; :class:`HistoryProducts`).

Secrets are only *referenced*: key files by a path (relative to the home folder),
passphrases and tokens by the name of an environment variable. They are read when a
connection is opened (:func:`read_secret_env`, :func:`key_path`), never kept on the
config objects and never printed (``repr`` shows references only).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from serialtrace.errors import ConfigurationError, ValidationError
from serialtrace.gs1.keys import ndc11, normalize_gtin, validate_gln
from serialtrace.settings import Home

EPCIS_FORMATS = ("1.2-xml", "2.0-xml", "2.0-jsonld")
ROLES = ("wholesaler", "distributor", "dispenser", "3pl", "cmo", "manufacturer", "hub")
TRANSPORT_KINDS = ("sftp", "as2", "http")
MDN_MODES = ("sync", "async")
AS2_ENCRYPTIONS = ("aes_128_cbc", "aes_192_cbc", "aes_256_cbc", "tripledes_192_cbc")
AS2_DIGESTS = ("sha256", "sha384", "sha512")
PARTNERS_FILE = "partners.toml"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_CRON_FIELD = re.compile(r"^[0-9*/,\-]+$")


@dataclass(frozen=True)
class SftpSettings:
    host: str
    port: int
    username: str
    key_file: str  # relative to the home folder (or absolute, outside the repo)
    host_key: str  # pinned "<type> <base64>" public key of the server
    remote_inbox: str  # where we upload
    remote_outbox: str  # where the partner leaves files for us
    remote_archive: str  # "" = remove picked-up files, else move them there
    key_passphrase_env: str = ""
    kind: str = "sftp"


@dataclass(frozen=True)
class As2Settings:
    url: str
    local_as2_id: str
    partner_as2_id: str
    key_file: str  # our private key and certificate (PEM), relative to the home
    partner_cert_file: str  # the partner's certificate (PEM)
    mdn: str  # sync | async
    async_mdn_url: str
    encryption: str
    digest: str
    key_passphrase_env: str = ""
    kind: str = "as2"


@dataclass(frozen=True)
class HttpSettings:
    url: str  # EPCIS capture endpoint, https:// only
    ca_file: str  # "" = the system trust store; else a CA bundle relative to the home
    token_env: str  # "" = no Authorization header; else env var holding a bearer token
    timeout_seconds: float = 30.0
    kind: str = "http"


Transport = SftpSettings | As2Settings | HttpSettings


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    gln: str
    location_gln: str
    role: str
    epcis_format: str
    transaction_history: bool
    schedule: str
    ack_deadline_minutes: int
    go_live: bool
    transport: Transport
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    market: str = ""  # FMD: the member state (ISO 3166 alpha-2) a role = "hub" endpoint serves
    inbound_policy: str = "tolerant"  # strict: refuse a deviating file; tolerant: load + record
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def epcis_version(self) -> str:
        return self.epcis_format.split("-", 1)[0]


INBOUND_POLICIES = ("strict", "tolerant")


PRODUCTS_TABLE = "products"
_HISTORY_GTINS = "transaction_history_gtins"
_HISTORY_NDCS = "transaction_history_ndcs"


@dataclass(frozen=True)
class HistoryProducts:
    """Products whose shipping files always carry the DSCSA Transaction History, whoever
    the buyer is: ``[products]`` of partners.toml. Each entry keeps the name of the setting
    it came from (``products.transaction_history_gtins[0]``) for errors and the audit trail.
    """

    gtins: tuple[tuple[str, str], ...] = ()  # (GTIN-14, entry)
    ndcs: tuple[tuple[str, str, str], ...] = ()  # (NDC as configured, its 11-digit form, entry)
    origin: str = PARTNERS_FILE

    def __bool__(self) -> bool:
        return bool(self.gtins or self.ndcs)

    def required_by(
        self, shipped_gtins: Collection[str], master: Iterable[tuple[str, str | None]]
    ) -> tuple[str, ...]:
        """The entries that name a shipped product (``"<entry> = <value>"``; an NDC entry
        also says which shipped GTIN carries it), given the product master ``master``
        (GTIN-14, 11-digit NDC or None). An entry naming no product of the master is an
        error naming it: a mistyped entry must not let a product ship without its history.
        """
        by_ndc: dict[str, list[str]] = {}
        known: set[str] = set()
        for gtin, ndc in master:
            known.add(gtin)
            if ndc:
                by_ndc.setdefault(ndc, []).append(gtin)
        reasons: list[str] = []
        for gtin, entry in self.gtins:
            if gtin not in known:
                raise ValidationError(
                    entry,
                    f"GTIN {gtin} is not in the product master (dim_products): fix the entry "
                    f"in {self.origin} or add the product to the master data first",
                )
            if gtin in shipped_gtins:
                reasons.append(f"{entry} = {gtin}")
        for value, digits, entry in self.ndcs:
            if digits not in by_ndc:
                raise ValidationError(
                    entry,
                    f"NDC {value} is not in the product master (dim_products): fix the entry "
                    f"in {self.origin} or add the product to the master data first",
                )
            hits = sorted(g for g in by_ndc[digits] if g in shipped_gtins)
            if hits:
                reasons.append(f"{entry} = {value} (GTIN {', '.join(hits)})")
        return tuple(reasons)


def partners_file(home: Home) -> Path:
    return home.root / PARTNERS_FILE


def _read_config(home: Home) -> tuple[dict[str, Any], str]:
    """The parsed partners file of the home (else the embedded demo file) and its origin."""
    path = partners_file(home)
    try:
        if path.exists():
            text, origin = path.read_text(encoding="utf-8"), str(path)
        else:
            text = resources.files("partners.defaults").joinpath(PARTNERS_FILE).read_text()
            origin = "embedded demo partners.toml"
        return tomllib.loads(text), origin
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"partners file {path}: {exc}") from exc


def load_partners(home: Home) -> list[Partner]:
    """The partners of ``<home>/partners.toml``, or the embedded demo partners if absent."""
    return parse_partners(*_read_config(home))


def load_history_products(home: Home) -> HistoryProducts:
    """The ``[products]`` that always require the Transaction History (see
    :class:`HistoryProducts`), from the same file as :func:`load_partners`."""
    return parse_history_products(*_read_config(home))


def parse_history_products(data: dict[str, Any], origin: str = PARTNERS_FILE) -> HistoryProducts:
    """``[products]``: ``transaction_history_gtins`` (GTIN-8/12/13/14 as strings, check digit
    verified, kept as GTIN-14) and ``transaction_history_ndcs`` (hyphenated 10-digit NDCs in
    4-4-2, 5-3-2 or 5-4-1 form, or their 11-digit 5-4-2 form). Any other key is refused."""
    table = data.get(PRODUCTS_TABLE, {})
    if not isinstance(table, dict):
        raise ValidationError(PRODUCTS_TABLE, "must be a table ([products])")
    for key in table:
        if key not in (_HISTORY_GTINS, _HISTORY_NDCS):
            raise ValidationError(
                f"{PRODUCTS_TABLE}.{key}",
                f"unknown setting (known: {_HISTORY_GTINS}, {_HISTORY_NDCS})",
            )
    gtins = tuple(
        (normalize_gtin(value, entry) if isinstance(value, str) else _not_text(entry), entry)
        for entry, value in _entries(table, _HISTORY_GTINS)
    )
    ndcs = tuple(
        (value, _ndc_digits(value, entry), entry) for entry, value in _entries(table, _HISTORY_NDCS)
    )
    return HistoryProducts(gtins, ndcs, origin)


def _entries(table: dict[str, Any], key: str) -> list[tuple[str, Any]]:
    values = table.get(key, [])
    if not isinstance(values, list):
        raise ValidationError(f"{PRODUCTS_TABLE}.{key}", "must be a list of strings")
    return [(f"{PRODUCTS_TABLE}.{key}[{i}]", value) for i, value in enumerate(values)]


def _not_text(entry: str) -> NoReturn:
    raise ValidationError(entry, "must be a quoted string of digits (leading zeros count)")


def _ndc_digits(value: Any, entry: str) -> str:
    if not isinstance(value, str):
        _not_text(entry)
    if re.fullmatch(r"[0-9]{11}", value):
        return value
    try:
        return ndc11(value)
    except ValidationError:
        raise ValidationError(
            entry,
            f"must be a hyphenated 10-digit NDC (4-4-2, 5-3-2 or 5-4-1) or its 11-digit "
            f"5-4-2 form, got {value!r}",
        ) from None


def parse_partners(data: dict[str, Any], origin: str = "partners.toml") -> list[Partner]:
    parse_history_products(data, origin)  # the whole file is checked when it is read
    entries = data.get("partner", [])
    if not isinstance(entries, list):
        raise ConfigurationError(f"{origin}: [[partner]] must be an array of tables")
    partners: list[Partner] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        label = f"partner[{index}]"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            label = f"partner {entry['id']}"
        partner = _partner(entry, label)
        if partner.id in seen:
            raise ValidationError(f"{label}.id", "must be unique in the partners file")
        seen.add(partner.id)
        partners.append(partner)
    return partners


def get_partner(home: Home, partner_id: str) -> Partner:
    partners = load_partners(home)
    for partner in partners:
        if partner.id == partner_id:
            return partner
    known = ", ".join(p.id for p in partners) or "none"
    raise ConfigurationError(f"unknown partner {partner_id!r} (configured: {known})")


def key_path(home: Home, reference: str, field_name: str) -> Path:
    """A key/certificate file named in the config (relative paths are below the home)."""
    if not reference:
        raise ConfigurationError(f"{field_name}: no key file configured")
    path = Path(reference).expanduser()
    if not path.is_absolute():
        path = home.root / path
    if not path.is_file():
        raise ConfigurationError(f"{field_name}: key file {path} does not exist")
    return path


def read_secret_env(env_name: str, field_name: str) -> str | None:
    """The secret held by an environment variable (None when no variable is configured)."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise ConfigurationError(f"{field_name}: environment variable {env_name} is not set")
    return value


# ---------------------------------------------------------------- parsing helpers


def _str(entry: dict[str, Any], key: str, where: str, *, allow_empty: bool = False) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        raise ValidationError(f"{where}.{key}", "is required and must be a string")
    if not allow_empty and not value.strip():
        raise ValidationError(f"{where}.{key}", "must not be empty")
    return value


def _opt_str(entry: dict[str, Any], key: str, where: str, default: str = "") -> str:
    if key not in entry:
        return default
    return _str(entry, key, where, allow_empty=True)


def _choice(entry: dict[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> str:
    value = _str(entry, key, where)
    if value not in allowed:
        raise ValidationError(
            f"{where}.{key}", f"must be one of {', '.join(allowed)}, got {value!r}"
        )
    return value


def _bool(entry: dict[str, Any], key: str, where: str, default: bool | None = None) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise ValidationError(f"{where}.{key}", "is required and must be true or false")
    return value


def _int(entry: dict[str, Any], key: str, where: str, low: int, high: int, default: int) -> int:
    value = entry.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationError(f"{where}.{key}", f"must be a whole number {low}-{high}")
    return value


def _env_name(entry: dict[str, Any], key: str, where: str) -> str:
    value = _opt_str(entry, key, where)
    if value and not _ENV_NAME.match(value):
        raise ValidationError(
            f"{where}.{key}",
            "must be the NAME of an environment variable (A-Z, 0-9, _), never the secret",
        )
    return value


def _schedule(value: str, where: str) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValidationError(
            f"{where}.schedule", f"must be a 5-field cron expression, got {value!r}"
        )
    return value


def _partner(entry: Any, where: str) -> Partner:
    if not isinstance(entry, dict):
        raise ValidationError(where, "must be a table")
    partner_id = _str(entry, "id", where)
    if not _ID.match(partner_id):
        raise ValidationError(f"{where}.id", "must be lower-case letters, digits and '-' (max 63)")
    gln = validate_gln(_str(entry, "gln", where), f"{where}.gln")
    location = validate_gln(
        _opt_str(entry, "location_gln", where, gln) or gln, f"{where}.location_gln"
    )
    transport = entry.get("transport")
    if not isinstance(transport, dict):
        raise ValidationError(f"{where}.transport", "is required: a [partner.transport] table")
    return Partner(
        id=partner_id,
        name=_str(entry, "name", where),
        gln=gln,
        location_gln=location,
        role=_choice(entry, "role", where, ROLES),
        epcis_format=_choice(entry, "epcis_format", where, EPCIS_FORMATS),
        transaction_history=_bool(entry, "transaction_history", where),
        schedule=_schedule(_str(entry, "schedule", where), where),
        ack_deadline_minutes=_int(entry, "ack_deadline_minutes", where, 1, 7 * 24 * 60, 60),
        go_live=_bool(entry, "go_live", where, False),
        transport=_transport(transport, f"{where}.transport"),
        max_attempts=_int(entry, "max_attempts", where, 1, 50, 5),
        retry_base_seconds=float(_int(entry, "retry_base_seconds", where, 0, 86_400, 30)),
        market=_market(entry, where),
        inbound_policy=_choice(entry, "inbound_policy", where, INBOUND_POLICIES)
        if "inbound_policy" in entry
        else "tolerant",
    )


def _market(entry: dict[str, Any], where: str) -> str:
    market = _opt_str(entry, "market", where)
    if entry.get("role") == "hub" and not re.fullmatch(r"[A-Z]{2}", market):
        raise ValidationError(
            f"{where}.market", "a hub (FMD) endpoint needs its member state, e.g. 'DE'"
        )
    if market and entry.get("role") != "hub":
        raise ValidationError(f"{where}.market", "only a role = 'hub' endpoint has a market")
    return market


def _transport(entry: dict[str, Any], where: str) -> Transport:
    kind = _choice(entry, "kind", where, TRANSPORT_KINDS)
    for secret_key in ("password", "passphrase", "private_key", "token"):
        if secret_key in entry:
            raise ValidationError(
                f"{where}.{secret_key}",
                "secrets are never stored in the config: reference an environment "
                "variable (*_env) or a key file (key_file)",
            )
    if kind == "sftp":
        host_key = _str(entry, "host_key", where, allow_empty=True)
        if host_key and len(host_key.split()) < 2:
            raise ValidationError(f"{where}.host_key", "must be '<key type> <base64 key>'")
        return SftpSettings(
            host=_str(entry, "host", where),
            port=_int(entry, "port", where, 1, 65535, 22),
            username=_str(entry, "username", where),
            key_file=_str(entry, "key_file", where),
            host_key=host_key.strip(),
            remote_inbox=_opt_str(entry, "remote_inbox", where, "inbound"),
            remote_outbox=_opt_str(entry, "remote_outbox", where, "outbound"),
            remote_archive=_opt_str(entry, "remote_archive", where),
            key_passphrase_env=_env_name(entry, "key_passphrase_env", where),
        )
    if kind == "as2":
        url = _str(entry, "url", where)
        if not url.startswith(("http://", "https://")):
            raise ValidationError(f"{where}.url", "must be an http:// or https:// URL")
        mdn = _choice(entry, "mdn", where, MDN_MODES)
        async_url = _opt_str(entry, "async_mdn_url", where)
        if mdn == "async" and not async_url:
            raise ValidationError(f"{where}.async_mdn_url", "is required when mdn = 'async'")
        return As2Settings(
            url=url,
            local_as2_id=_str(entry, "local_as2_id", where),
            partner_as2_id=_str(entry, "partner_as2_id", where),
            key_file=_str(entry, "key_file", where),
            partner_cert_file=_str(entry, "partner_cert_file", where),
            mdn=mdn,
            async_mdn_url=async_url,
            encryption=_choice(entry, "encryption", where, AS2_ENCRYPTIONS),
            digest=_choice(entry, "digest", where, AS2_DIGESTS),
            key_passphrase_env=_env_name(entry, "key_passphrase_env", where),
        )
    url = _str(entry, "url", where)
    if not url.startswith("https://"):
        raise ValidationError(f"{where}.url", "must be an https:// URL (TLS verification is on)")
    return HttpSettings(
        url=url,
        ca_file=_opt_str(entry, "ca_file", where),
        token_env=_env_name(entry, "token_env", where),
        timeout_seconds=float(_int(entry, "timeout_seconds", where, 1, 600, 30)),
    )
