"""What ``serialtrace dashboards`` and the login page tell about logging in (no Streamlit
here: the CLI imports it before starting the server)."""

from __future__ import annotations

from serialtrace.settings import Home
from serialtrace.users import UserStore


def has_users(home: Home) -> bool:
    """The installation's user store holds at least one user (a missing store holds none;
    it is not created here)."""
    users_db = home.installation.users_db
    return users_db.exists() and bool(UserStore(users_db).all())


def first_admin_command(home: Home) -> str:
    """The command that creates the installation's first user (an admin)."""
    root = home.installation.root
    return f'serialtrace users add NAME --full-name "Your Name" --role admin --home {root}'


def login_hint(home: Home) -> str:
    """One or two lines: how to log in to the dashboards of ``home``'s installation."""
    if not has_users(home):
        return (
            "No user exists yet: the dashboards open only after a login. Create the first "
            f"admin:\n  {first_admin_command(home)}"
        )
    hint = f"Log in with a user of {home.installation.users_db} (`serialtrace users list`)."
    demo = [
        u.name for u in UserStore(home.installation.users_db).all() if u.name.startswith("demo-")
    ]
    if demo:
        hint += f"\nDemo users: {', '.join(demo)} (their password: docs/alerts.md, Demo)."
    return hint
