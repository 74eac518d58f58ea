"""``serialtrace users add|list|disable|passwd`` and the acting-user helpers every CLI uses.

The CLI acts as a named user: ``--user NAME`` or ``SERIALTRACE_USER``. Passwords are never
command-line arguments (they would land in shell history and process lists): they are read
from ``SERIALTRACE_PASSWORD`` (automation), from stdin with ``--password-stdin``, or from an
interactive prompt without echo.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import TypeAlias

from serialtrace.errors import SerialtraceError, ValidationError
from serialtrace.settings import resolve_home
from serialtrace.users.store import ALL_CLIENTS, ROLES, User, UserStore

__all__ = ["PASSWORD_ENV", "USER_ENV", "acting_user", "add_users_commands", "read_password"]

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
USER_ENV = "SERIALTRACE_USER"
PASSWORD_ENV = "SERIALTRACE_PASSWORD"


def add_user_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user", default=argparse.SUPPRESS, help=f"acting user (default: ${USER_ENV})"
    )
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help=f"read the password from stdin (else ${PASSWORD_ENV}, else a prompt)",
    )


def acting_user_name(args: argparse.Namespace) -> str:
    name = getattr(args, "user", None) or os.environ.get(USER_ENV)
    if not name:
        raise ValidationError("--user", f"name the acting user (or set {USER_ENV})")
    return str(name)


def acting_user(args: argparse.Namespace, store: UserStore, *roles: str) -> User:
    """The enabled acting user, holding one of ``roles`` (the OS account while the store is
    empty: serialtrace/acting.py); the client check is done by serialtrace/acting.py."""
    from serialtrace.acting import current_actor, os_user

    if not store.all():
        actor = current_actor()
        return actor.user if actor is not None else os_user()
    return store.require(acting_user_name(args), *roles)


def read_password(args: argparse.Namespace, prompt: str, *, env: str = PASSWORD_ENV) -> str:
    """A password from stdin (``--password-stdin``), the environment, or a no-echo prompt."""
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
    elif os.environ.get(env):
        password = os.environ[env]
    elif sys.stdin.isatty():
        password = getpass.getpass(prompt)
    else:
        raise ValidationError("password", f"no terminal: use --password-stdin or set {env}")
    if not password:
        raise ValidationError("password", "must not be empty")
    return password


def add_users_commands(sub: SubParsers) -> None:
    users = sub.add_parser("users", help="the user store: users, roles, clients, passwords")
    cmds = users.add_subparsers(dest="users_command", required=True, parser_class=type(users))

    add = cmds.add_parser(
        "add",
        help="add a user (the first user of a home must be an admin and needs no --user)",
    )
    add.add_argument("name")
    add.add_argument("--full-name", required=True, help="printed in electronic signatures")
    add.add_argument("--role", action="append", required=True, choices=ROLES, dest="roles")
    add.add_argument(
        "--client",
        action="append",
        dest="clients",
        default=None,
        help=f"company id the user may see (repeat; default {ALL_CLIENTS!r}: all)",
    )
    add.add_argument("--email", default=None)
    add_user_argument(add)
    add.set_defaults(func=_cmd_add)

    lst = cmds.add_parser("list", help="list users (never their password hashes)")
    lst.set_defaults(func=_cmd_list)

    dis = cmds.add_parser("disable", help="disable a user (kept: trails name them)")
    dis.add_argument("name")
    add_user_argument(dis)
    dis.set_defaults(func=_cmd_disable)

    pwd = cmds.add_parser(
        "passwd", help="change a password (your own: old one first; an admin: anyone's)"
    )
    pwd.add_argument("name")
    add_user_argument(pwd)
    pwd.set_defaults(func=_cmd_passwd)


def _store(args: argparse.Namespace) -> UserStore:
    return UserStore(resolve_home(getattr(args, "home", None)).users_db)


def _cmd_add(args: argparse.Namespace) -> int:
    store = _store(args)
    by = acting_user(args, store, "admin").name
    if not store.all() and "admin" not in args.roles:
        raise ValidationError("--role", "the first user of a home must be an admin")
    password = read_password(args, f"password for {args.name}: ")
    interactive = not getattr(args, "password_stdin", False) and sys.stdin.isatty()
    if interactive and getpass.getpass("again: ") != password:
        raise ValidationError("password", "the two entries differ")
    user = store.add(
        args.name,
        password,
        full_name=args.full_name,
        roles=args.roles,
        clients=args.clients or [ALL_CLIENTS],
        email=args.email,
        by=by,
    )
    print(f"added {user.name} ({', '.join(user.roles)}; clients {', '.join(user.clients)})")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    store = _store(args)
    for u in store.all():
        state = "disabled" if u.disabled else "enabled"
        until = store.locked_until(u.name)
        if until is not None:
            state += f", locked until {until:%Y-%m-%d %H:%M:%S} UTC"
        print(
            f"{u.name:<20} {u.full_name:<28} {','.join(u.roles):<28} "
            f"{','.join(u.clients):<16} {u.email or '-':<28} {state}"
        )
    return 0


def _cmd_disable(args: argparse.Namespace) -> int:
    store = _store(args)
    by = acting_user(args, store, "admin").name
    if by == args.name:
        raise ValidationError("user", "an admin cannot disable themselves")
    store.disable(args.name, by=by)
    print(f"disabled {args.name}")
    return 0


def _cmd_passwd(args: argparse.Namespace) -> int:
    store = _store(args)
    actor = acting_user(args, store)
    if actor.name == args.name:
        # own password: prove the old one (first line of stdin / prompt), then the new one
        old = read_password(args, "current password: ", env="SERIALTRACE_OLD_PASSWORD")
        store.authenticate(actor.name, old)
        new = read_password(args, "new password: ", env="SERIALTRACE_NEW_PASSWORD")
    elif actor.has_role("admin"):
        new = read_password(args, f"new password for {args.name}: ", env="SERIALTRACE_NEW_PASSWORD")
    else:
        raise SerialtraceError(f"user {actor.name!r} may only change their own password")
    store.set_password(args.name, new, by=actor.name)
    print(f"password of {args.name} changed")
    return 0
