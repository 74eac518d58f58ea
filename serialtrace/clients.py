"""``serialtrace clients list|add ID``: the data spaces (CMO clients) of an installation.

A data space is a folder: the installation's root (its client named by ``client.id``, else
``default``) or ``<installation>/clients/<id>/``, each with its own raw zone, serial pools,
warehouse, partners and ERP connections (docs/cmo.md). ``add`` creates the folders (admin
only, serialtrace/acting.py); ``list`` shows the clients the acting user may see.
"""

from __future__ import annotations

import argparse
from typing import TypeAlias

from serialtrace.acting import current_actor, os_user
from serialtrace.errors import ValidationError
from serialtrace.settings import Home, resolve_home, validate_client_id

__all__ = ["add_client", "add_clients_commands", "visible_clients"]

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_clients_commands(sub: SubParsers) -> None:
    clients = sub.add_parser("clients", help="CMO mode: the clients (data spaces) of this home")
    cmds = clients.add_subparsers(dest="clients_command", required=True, parser_class=type(clients))
    lst = cmds.add_parser("list", help="the clients you may see, with their data space")
    lst.set_defaults(func=_cmd_list)
    add = cmds.add_parser("add", help="create a client's data space (admin)")
    add.add_argument("client_id", help="company id: letters, digits, . _ - (1-64)")
    add.set_defaults(func=_cmd_add)


def add_client(installation: Home, client_id: str) -> Home:
    """Create the data space of a new client; refuses an existing one."""
    validate_client_id(client_id)
    if client_id in installation.installation.data_spaces():
        raise ValidationError("client", f"{client_id!r} already has a data space")
    return installation.client(client_id).ensure()


def visible_clients(installation: Home) -> dict[str, Home]:
    """The data spaces the acting user may see (every one outside a CLI command)."""
    actor = current_actor()
    user = actor.user if actor is not None else os_user()
    return {c: h for c, h in installation.installation.data_spaces().items() if user.may_see(c)}


def _installation(args: argparse.Namespace) -> Home:
    return resolve_home(getattr(args, "home", None)).installation


def _cmd_list(args: argparse.Namespace) -> int:
    for client_id, home in visible_clients(_installation(args)).items():
        state = "warehouse" if home.warehouse.is_file() else "no warehouse yet"
        print(f"{client_id:<24} {home.root}  ({state})")
    return 0


def _cmd_add(args: argparse.Namespace) -> int:
    home = add_client(_installation(args), args.client_id)
    print(f"added client {args.client_id}: data space {home.root}")
    return 0
