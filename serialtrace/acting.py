"""Who runs a CLI command, for which client, and may they: the one place that decides.

Every ``serialtrace`` command is classified in :data:`POLICY` by its command path (e.g.
``"serials allocate"``). :func:`authorize` applies the rules of docs/users.md:

- the data space is chosen by ``--client ID`` (else ``SERIALTRACE_CLIENT``, else the
  installation's root client); it must exist (``serialtrace clients add`` creates one);
- with an **empty** user store (a fresh installation) every command runs as the OS account
  ``os:<login>``, so the first admin can be created;
- otherwise the acting user (``--user NAME``, else ``SERIALTRACE_USER``) must exist, be
  enabled and may see the chosen client; a command that changes data also needs one of the
  roles its rule names. Commands missing from :data:`POLICY` need an ``admin`` (fail closed).

:func:`acting` is the context the CLI runs a command in: it selects the data space for
the command (``SERIALTRACE_CLIENT``) and makes the actor available to the trails through
:func:`current_actor`; a data-changing command is also recorded in the data space's command
trail (``<data space>/audit.sqlite``) with its user, client, arguments and outcome.
"""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

from serialtrace.errors import ConfigurationError, SerialtraceError
from serialtrace.io.sqlite import connect_wal
from serialtrace.settings import CLIENT_ENV, Home, resolve_home, validate_client_id
from serialtrace.users.store import ALL_CLIENTS, ROLES, PermissionDeniedError, User, UserStore

__all__ = [
    "POLICY",
    "USER_ENV",
    "Actor",
    "Rule",
    "acting",
    "authorize",
    "command_trail",
    "current_actor",
    "os_user",
    "rule_for",
]

USER_ENV: Final = "SERIALTRACE_USER"
#: The command trail of a data space (one row per data-changing command).
TRAIL_FILE: Final = "audit.sqlite"

Kind = Literal["none", "read", "change", "installation", "service"]


@dataclass(frozen=True)
class Rule:
    """``none``: touches no data space (pure tools); ``read``: any enabled user who may see
    the client; ``change``: that, plus one of ``roles``; ``installation``: user-store
    commands (their own role checks, no client); ``service``: authenticates its own users
    (the dashboards' login)."""

    kind: Kind
    roles: tuple[str, ...] = ()


_ADMINS: Final = ("admin", "serialization_admin")
_NONE, _READ, _INST, _SERVICE = Rule("none"), Rule("read"), Rule("installation"), Rule("service")


def _change(*roles: str) -> Rule:
    return Rule("change", roles or _ADMINS)


_ALERTS_COMMANDS: Final = [
    "list",
    "show",
    "raise",
    "import",
    "scan-line",
    "assign",
    "note",
    "determine",
    "sign",
    "close",
    "verify-trail",
    "notification",
    "escalate",
]

#: Every command of the CLI by its command path. docs/users.md prints this table.
POLICY: Final[Mapping[str, Rule]] = {
    "demo": _change("admin"),
    "materialize": _change(),
    "dashboards": _SERVICE,
    "gs1 encode": _NONE,
    "gs1 parse": _NONE,
    "serials markets": _NONE,
    "serials pool create": _change(),
    "serials pools": _READ,
    "serials allocate": _change(),
    "serials import": _change(),
    "serials check": _READ,
    "serials decommission": _change("quality", *_ADMINS),
    "line run": _change("operator", *_ADMINS),
    "line simulate": _NONE,
    "line rework unpack": _change("operator", "quality", *_ADMINS),
    "line rework replace": _change("operator", "quality", *_ADMINS),
    "line rework pack": _change("operator", "quality", *_ADMINS),
    "erp load": _change(),
    "erp watch": _change(),
    "erp status": _READ,
    "erp writeback": _change(),
    "erp release-check": _READ,
    "erp report": _READ,
    "users add": _INST,
    "users list": _INST,
    "users disable": _INST,
    "users passwd": _INST,
    "clients list": _INST,
    "clients add": _change("admin"),
    # alerts: the alerts CLI checks the role of each action itself (docs/users.md)
    **{f"alerts {name}": _READ for name in _ALERTS_COMMANDS},
    "partners list": _READ,
    "partners deliveries": _READ,
    "partners test": _change(),
    "partners go-live": _change(),
    "partners send": _change("operator", *_ADMINS),
    "partners pickup": _change("operator", *_ADMINS),
    "partners fmd-upload": _change(),
    "partners export": _change(),
    "partners licences load": _change(),
    "partners licences list": _READ,
    "verify serve": _change(),
    "verify refresh": _change(),
    "verify flush-log": _change(),
    "verify keys add": _change("admin"),
    "verify keys list": _READ,
    "verify keys revoke": _change("admin"),
    "verify ask": _READ,
    "verify nmvs": _READ,
    "epcis validate": _NONE,
    "epcis convert": _NONE,
    "epcis ingest": _change(),
    "epcis render": _change(),
    "epcis receipt": _change("operator", *_ADMINS),  # on main since the s3-epcis merge
    "ship": _change("operator", *_ADMINS),
}
#: The rule of a command missing from POLICY (e.g. added by a later branch): admins only.
UNLISTED: Final = Rule("change", ("admin",))


def rule_for(command: str) -> Rule:
    return POLICY.get(command, UNLISTED)


@dataclass(frozen=True)
class Actor:
    """Who acts (``user.name`` is what trails record) in which data space."""

    user: User
    home: Home
    command: str
    rule: Rule

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def client(self) -> str:
        return self.home.client_id


def os_user() -> User:
    """The OS account, acting while the user store is empty (fresh installation)."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        login = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return User(
        name=f"os:{login}",
        full_name=f"OS account {login}",
        roles=ROLES,
        clients=(ALL_CLIENTS,),
        email=None,
        disabled=False,
    )


_CURRENT: ContextVar[Actor | None] = ContextVar("serialtrace_actor", default=None)


def current_actor() -> Actor | None:
    """The actor of the command running now (None outside the CLI, e.g. in Dagster runs)."""
    return _CURRENT.get()


def acting_name(default: str) -> str:
    """The acting user's name for a trail, or ``default`` outside a CLI command."""
    actor = current_actor()
    return actor.name if actor is not None else default


def authorize(
    command: str,
    *,
    home: str | None = None,
    client: str | None = None,
    user: str | None = None,
) -> Actor:
    """The actor of ``command`` run by ``user`` (else ``SERIALTRACE_USER``) in the data
    space of ``client`` (else ``SERIALTRACE_CLIENT``); one clear refusal otherwise."""
    rule = rule_for(command)
    space = _data_space(home, client, must_exist=rule.kind in ("read", "change"))
    if rule.kind in ("none", "service"):
        return Actor(os_user(), space, command, rule)
    name = user or os.environ.get(USER_ENV)
    store = _user_store(space)
    if store is None or not store.all():
        # a fresh installation: nobody to check against (a named --user cannot be verified
        # either), the OS account acts, so the first admin can be created
        return Actor(os_user(), space, command, rule)
    if not name and command == "demo":
        demo_admin = _demo_admin(space, store)
        if demo_admin is not None:
            return Actor(demo_admin, space, command, rule)
    if not name:
        raise PermissionDeniedError(
            f"--user: `{command}` needs an acting user (--user NAME or {USER_ENV})"
        )
    try:
        acting = store.require(name)
    except PermissionDeniedError:
        raise
    except SerialtraceError:
        raise PermissionDeniedError(f"--user: user {name!r} does not exist") from None
    if rule.kind == "installation":
        return Actor(acting, space, command, rule)
    if not acting.may_see(space.client_id):
        raise PermissionDeniedError(
            f"--client: user {name!r} may not see client {space.client_id!r}"
        )
    if rule.kind == "change" and not acting.has_role(*rule.roles):
        raise PermissionDeniedError(
            f"--user: `{command}` needs a role among {', '.join(rule.roles)}; "
            f"{name!r} has {', '.join(acting.roles)}"
        )
    return Actor(acting, space, command, rule)


def _demo_admin(space: Home, store: UserStore) -> User | None:
    """A re-run of ``serialtrace demo`` without ``--user``: the demo's own admin, when the
    installation's demo credential file (written by the first demo, mode 0600, readable
    only by the OS account that ran it) holds a password that authenticates. Holding
    that file is holding the password; anything else gets the usual refusal."""
    from serialtrace.clients_demo import DEMO_ADMIN, DEMO_USERS_FILE

    path = space.installation.root / DEMO_USERS_FILE
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, password = line.partition("\t")
        if name == DEMO_ADMIN and password:
            try:
                return store.authenticate(name, password)
            except SerialtraceError:
                return None
    return None


def _user_store(space: Home) -> UserStore | None:
    """The installation's user store; None while it does not exist (nothing created)."""
    if not space.users_db.is_file():
        return None
    try:
        return UserStore(space.users_db)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigurationError(f"user store {space.users_db} is not usable: {exc}") from exc


def _data_space(home: str | None, client: str | None, *, must_exist: bool) -> Home:
    chosen = client or os.environ.get(CLIENT_ENV)
    space = resolve_home(home, validate_client_id(chosen) if chosen else None)
    if chosen and must_exist and space.installation_root is not None and not space.root.is_dir():
        raise ConfigurationError(
            f"--client: client {chosen!r} has no data space in {space.installation.root} "
            f"(an admin creates it: serialtrace clients add {chosen})"
        )
    return space


@contextmanager
def acting(actor: Actor, arguments: Mapping[str, object] | None = None) -> Iterator[Actor]:
    """Run a command as ``actor``: its data space selected for every ``resolve_home`` of
    the command, the actor visible to :func:`current_actor`, a data-changing command
    recorded in the command trail with its outcome."""
    previous_env = os.environ.get(CLIENT_ENV)
    if actor.home.installation_root is not None:
        os.environ[CLIENT_ENV] = actor.client
    token = _CURRENT.set(actor)
    row: int | None = None
    if actor.rule.kind == "change" and actor.home.root.is_dir():
        row = command_trail(actor.home).begin(actor, arguments or {})
    outcome, detail = "failed", ""
    try:
        yield actor
        outcome = "done"
    except BaseException as exc:
        detail = f"{type(exc).__name__}: {exc}"[:500]
        raise
    finally:
        _CURRENT.reset(token)
        if previous_env is None:
            os.environ.pop(CLIENT_ENV, None)
        else:
            os.environ[CLIENT_ENV] = previous_env
        if row is None and actor.rule.kind == "change" and actor.home.root.is_dir():
            # the command created its data space (a first `demo`): record it now
            row = command_trail(actor.home).begin(actor, arguments or {})
        if row is not None:
            command_trail(actor.home).finish(row, outcome, detail)


_TRAIL_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS commands (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    user        TEXT NOT NULL,   -- the acting user (os:<login> on a fresh installation)
    client      TEXT NOT NULL,   -- the data space's client
    command     TEXT NOT NULL,   -- e.g. 'serials allocate'
    arguments   TEXT NOT NULL,   -- JSON of the parsed arguments (never passwords)
    outcome     TEXT NOT NULL,   -- running, done, failed
    detail      TEXT NOT NULL
);
"""
#: Argument names never written to the trail.
_SECRET_ARGS: Final = frozenset({"password", "password_stdin", "func", "token"})


@dataclass(frozen=True)
class TrailEntry:
    seq: int
    started_at: str
    finished_at: str | None
    user: str
    client: str
    command: str
    arguments: dict[str, object]
    outcome: str
    detail: str


class CommandTrail:
    """The append-only command trail of one data space (``<root>/audit.sqlite``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with connect_wal(path) as db:
            db.executescript(_TRAIL_SCHEMA)

    def begin(self, actor: Actor, arguments: Mapping[str, object]) -> int:
        shown = {
            k: v if isinstance(v, (str, int, float, bool, type(None))) else str(v)
            for k, v in sorted(arguments.items())
            if k not in _SECRET_ARGS and not k.startswith("_")
        }
        with connect_wal(self.path) as db:
            cursor = db.execute(
                "INSERT INTO commands (started_at, user, client, command, arguments, outcome,"
                " detail) VALUES (?,?,?,?,?,'running','')",
                (_now(), actor.name, actor.client, actor.command, json.dumps(shown)),
            )
            return int(cursor.lastrowid or 0)

    def finish(self, seq: int, outcome: str, detail: str) -> None:
        with connect_wal(self.path) as db:
            db.execute(
                "UPDATE commands SET finished_at = ?, outcome = ?, detail = ? WHERE seq = ?",
                (_now(), outcome, detail, seq),
            )

    def entries(self) -> list[TrailEntry]:
        with connect_wal(self.path) as db:
            rows = db.execute(
                "SELECT seq, started_at, finished_at, user, client, command, arguments, outcome,"
                " detail FROM commands ORDER BY seq"
            ).fetchall()
        return [
            TrailEntry(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8])
            for r in rows
        ]


def command_trail(home: Home) -> CommandTrail:
    try:
        return CommandTrail(home.root / TRAIL_FILE)
    except sqlite3.Error as exc:
        raise ConfigurationError(f"command trail {home.root / TRAIL_FILE}: {exc}") from exc


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
