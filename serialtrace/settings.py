"""Where things are: the home folder, its zones, and the conformance kit.

Every subcommand works on one *home folder* (default ``./.serialtrace``), chosen by
``--home DIR`` or the ``SERIALTRACE_HOME`` environment variable. The official EPCIS
schemas are read from ``SERIALTRACE_CONFORMANCE_DIR`` (default ``../shared/conformance``
beside the project root); they are never copied into the project.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from serialtrace.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = Path(".serialtrace")
HOME_ENV = "SERIALTRACE_HOME"
CONFORMANCE_ENV = "SERIALTRACE_CONFORMANCE_DIR"


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
    """The folders of one Serialtrace installation (all below ``root``)."""

    root: Path

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
        """The one user store: users, roles, clients, password hashes (serialtrace/users)."""
        return self.root / "users.sqlite"

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


def resolve_home(cli_value: str | None = None) -> Home:
    """The home chosen by ``--home``, else ``SERIALTRACE_HOME``, else ``./.serialtrace``."""
    raw = cli_value or os.environ.get(HOME_ENV) or str(DEFAULT_HOME)
    return Home(Path(raw).expanduser().resolve())
