"""Who may open which dashboard page, act on alerts, and see which client's data space.

Pure rules (no Streamlit, no I/O) shared by the app (``dashboards/app.py`` gives
``st.navigation`` only the allowed pages) and by every page (``dashboards/common.py``
refuses a page opened without the role). docs/users.md, "Dashboards", has the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from serialtrace.users import ROLES, User

#: Roles that see every page (the auditor read-only: no alert actions).
_READERS: Final = ("admin", "serialization_admin", "quality", "auditor")


@dataclass(frozen=True)
class PageSpec:
    """One dashboard page: its id (= the file name in dashboards/views without ``.py``),
    title, URL path (the start page is served at ``/`` too) and the roles that may open it."""

    page_id: str
    title: str
    url_path: str
    roles: tuple[str, ...]

    @property
    def file_name(self) -> str:
        return f"{self.page_id}.py"


#: Every page, in navigation order; the first one a user may open is their start page.
PAGES: Final[tuple[PageSpec, ...]] = (
    PageSpec("batch_quality", "Line and batch quality", "batch_quality", ROLES),
    PageSpec("serial_lookup", "Serial lookup", "serial", _READERS),
    PageSpec("reconciliation", "Reconciliation", "reconciliation", _READERS),
    PageSpec("alerts", "Suspect product alerts", "alerts", _READERS),
    PageSpec("partners", "Trading partners", "partners", _READERS),
    PageSpec("verification", "Verification", "verification", _READERS),
    PageSpec("verification_log", "Verification query log", "verification-log", _READERS),
)
_BY_ID: Final = {p.page_id: p for p in PAGES}

#: Alert actions (the investigation form's choices) by role; the first role held that is
#: listed wins the widest set. Auditors and operators act on no alert from the dashboards.
ALL_ALERT_ACTIONS: Final = ("step", "finding", "evidence", "note", "assign", "determine")
_ALERT_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "admin": ALL_ALERT_ACTIONS,
    "quality": ALL_ALERT_ACTIONS,
    "serialization_admin": ("evidence", "note"),
}
#: Roles that may sign a disposition (and so close a case) from the dashboards.
SIGNING_ROLES: Final = ("quality", "admin")


def page(page_id: str) -> PageSpec:
    """The page ``page_id``; a programming error (KeyError naming it) when unknown."""
    try:
        return _BY_ID[page_id]
    except KeyError:
        raise KeyError(f"dashboard page {page_id!r} is not one of {', '.join(_BY_ID)}") from None


def may_open(user: User, page_id: str) -> bool:
    """An enabled user holding one of the page's roles."""
    return not user.disabled and user.has_role(*page(page_id).roles)


def pages_for(user: User) -> list[PageSpec]:
    """The pages ``user`` may open, in navigation order (empty for a disabled user)."""
    return [p for p in PAGES if may_open(user, p.page_id)]


def alert_actions(user: User) -> tuple[str, ...]:
    """The investigation actions ``user`` may take on the alerts page (empty: read-only)."""
    if user.disabled:
        return ()
    allowed: list[str] = []
    for role in user.roles:
        allowed.extend(a for a in _ALERT_ACTIONS.get(role, ()) if a not in allowed)
    return tuple(a for a in ALL_ALERT_ACTIONS if a in allowed)


def may_sign(user: User) -> bool:
    """May sign a disposition (quality or admin; an enabled user)."""
    return not user.disabled and user.has_role(*SIGNING_ROLES)


def visible_clients(user: User, client_ids: Iterable[str]) -> list[str]:
    """The installation's client data spaces ``user`` may see, in the given order."""
    if user.disabled:
        return []
    return [c for c in client_ids if user.may_see(c)]
