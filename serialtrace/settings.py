"""Where things are: the home folder, its zones, and the conformance kit.

Every subcommand works on one *home folder* (default ``./.serialtrace``), chosen by
``--home DIR`` or the ``SERIALTRACE_HOME`` environment variable. The official EPCIS
schemas are read from ``SERIALTRACE_CONFORMANCE_DIR`` (default ``../shared/conformance``
beside the project root); they are never copied into the project.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from serialtrace.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = Path(".serialtrace")
HOME_ENV = "SERIALTRACE_HOME"
CONFORMANCE_ENV = "SERIALTRACE_CONFORMANCE_DIR"
CLIENT_ENV = "SERIALTRACE_CLIENT"
#: Folder (below the installation's root) holding one data space per CMO client.
CLIENTS_FOLDER = "clients"
#: File in a data space's root naming the client (company id) whose data it holds.
CLIENT_ID_FILE = "client.id"
#: Client id of an installation root that names no client (single-client installations).
DEFAULT_CLIENT = "default"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def validate_client_id(client_id: str) -> str:
    """A client (company) id usable as a folder name: 1-64 letters, digits, ``. _ -``."""
    if not _CLIENT_ID.fullmatch(client_id):
        raise ConfigurationError(
            f"client id {client_id!r} is not valid: 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return client_id


def conformance_dir() -> Path:
    """Folder of the official EPCIS schemas (``epcis-1.2/``, ``epcis-2.0/``)."""
    configured = os.environ.get(CONFORMANCE_ENV)
    if configured:
        return Path(configured).resolve()
    return (PROJECT_ROOT.parent / "shared" / "conformance").resolve()


def require_conformance_file(relative: str) -> Path:
    """Path of one file of the conformance kit, or a clear error naming the setting."""
    path = conformance_dir() / relative
    if not path.is_file():
        raise ConfigurationError(
            f"EPCIS conformance file {relative} not found under {conformance_dir()}: "
            f"set {CONFORMANCE_ENV} to the folder holding the official schemas"
        )
    return path


@dataclass(frozen=True)
class Home:
    """The folders of one data space (all below ``root``).

    An installation's root is a data space itself (its client named by ``client.id``, or
    ``default``); in CMO mode each further client has its own data space below
    ``<installation>/clients/<client id>/`` with its own raw zone, serial pools, warehouse,
    partners and ERP connections (``installation_root`` then names the installation). The
    user store is one per installation.
    """

    root: Path
    installation_root: Path | None = None

    @classmethod
    def at(cls, path: Path | str) -> Home:
        """The data space at ``path``, keeping its installation when it is a client's
        (``<installation>/clients/<id>/``): what code that rebuilds a Home from a path
        string (Dagster resources, ``--home``) must use, so the user store stays the
        installation's."""
        root = Path(path)
        parent = root.parent
        if parent.name == CLIENTS_FOLDER and _CLIENT_ID.fullmatch(root.name):
            return cls(root, installation_root=parent.parent)
        return cls(root)

    @property
    def installation(self) -> Home:
        """The installation's root data space (this one when it is the root)."""
        return Home(self.installation_root) if self.installation_root is not None else self

    @property
    def client_id(self) -> str:
        """The client whose data this data space holds."""
        if self.installation_root is not None:
            return self.root.name
        marker = self.root / CLIENT_ID_FILE
        if marker.is_file():
            return validate_client_id(marker.read_text().strip())
        return DEFAULT_CLIENT

    def client(self, client_id: str) -> Home:
        """The data space of one client of this installation (the root's own client
        gives the root). The folder is created by ``ensure()``, not here."""
        root = self.installation
        if validate_client_id(client_id) == root.client_id:
            return root
        return Home(root.root / CLIENTS_FOLDER / client_id, installation_root=root.root)

    def data_spaces(self) -> dict[str, Home]:
        """Every client's data space of this installation, by client id (root first)."""
        root = self.installation
        spaces = {root.client_id: root}
        folder = root.root / CLIENTS_FOLDER
        if folder.is_dir():
            for child in sorted(folder.iterdir()):
                if child.is_dir() and _CLIENT_ID.fullmatch(child.name):
                    spaces.setdefault(child.name, Home(child, installation_root=root.root))
        return spaces

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def raw_line(self) -> Path:
        return self.raw / "line"

    @property
    def raw_masterdata(self) -> Path:
        return self.raw / "masterdata"

    @property
    def raw_serials(self) -> Path:
        return self.raw / "serials"

    @property
    def serial_ledger(self) -> Path:
        return self.root / "serials.sqlite"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def epcis_outbox(self) -> Path:
        return self.root / "epcis" / "outbox"

    @property
    def alerts_db(self) -> Path:
        """Alert cases, investigations and quarantine locks (alerts/)."""
        return self.root / "alerts.sqlite"

    @property
    def users_db(self) -> Path:
        """The one user store of the installation: users, roles, clients, password hashes
        (serialtrace/users); shared by every client's data space."""
        return self.installation.root / "users.sqlite"

    @property
    def partners_ledger(self) -> Path:
        """Delivery ledger of every file sent to / received from trading partners."""
        return self.root / "partners.sqlite"

    @property
    def epcis_inbox(self) -> Path:
        """Inbound partner files, stored per partner (``<inbox>/<partner id>/``)."""
        return self.root / "epcis" / "inbox"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> Home:
        """Create the folders, or fail with one clear line if the home is unusable."""
        try:
            for folder in (
                self.root,
                self.raw_line,
                self.raw_masterdata,
                self.raw_serials,
                self.epcis_outbox,
                self.dagster_home,
                self.logs,
            ):
                folder.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-probe"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigurationError(f"home folder {self.root} is not writable: {reason}") from exc
        return self


def resolve_home(cli_value: str | None = None, client: str | None = None) -> Home:
    """The home chosen by ``--home``, else ``SERIALTRACE_HOME``, else ``./.serialtrace``;
    then the data space of ``client`` (else ``SERIALTRACE_CLIENT``) in it, if one is named."""
    raw = cli_value or os.environ.get(HOME_ENV) or str(DEFAULT_HOME)
    home = Home.at(Path(raw).expanduser().resolve())
    chosen = client or os.environ.get(CLIENT_ENV)
    return home.client(chosen) if chosen else home
