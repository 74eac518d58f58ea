"""Test helpers: users for the dashboards, and a page run as a logged-in user.

A page run alone by AppTest gets the session a login would leave (the user's name in
``st.session_state``, server side); the login form itself is tested through the app in
tests/dashboards/test_login.py and in the browser tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboards.auth import CLIENT_KEY, USER_KEY
from serialtrace.errors import SerialtraceError
from serialtrace.settings import PROJECT_ROOT, Home
from serialtrace.users import UserStore

APP = PROJECT_ROOT / "dashboards" / "app.py"
VIEWS = PROJECT_ROOT / "dashboards" / "views"
#: Password of every test user (test homes only).
PASSWORD = "dashboards-test-password"
#: An admin who may see every client.
ADMIN = "dash-admin"


def ensure_user(
    home: Home,
    name: str = ADMIN,
    roles: Sequence[str] = ("admin",),
    clients: Sequence[str] = ("*",),
) -> str:
    """The user ``name`` in the installation's user store (added once, with PASSWORD)."""
    users = UserStore(home.installation.users_db)
    try:
        users.get(name)
    except SerialtraceError:
        users.add(
            name,
            PASSWORD,
            full_name=f"Test {name}",
            roles=list(roles),
            clients=list(clients),
            by="tests",
        )
    return name


def view_app(view: str | Path, *, user: str = ADMIN, client: str | None = None) -> AppTest:
    """A page (file name in dashboards/views, or a path) as ``user`` would see it after
    logging in and choosing ``client``; not run yet."""
    path = view if isinstance(view, Path) else VIEWS / view
    app = AppTest.from_file(str(path), default_timeout=60)
    app.session_state[USER_KEY] = user
    if client is not None:
        app.session_state[CLIENT_KEY] = client
    return app


def app_login(name: str, password: str = PASSWORD) -> AppTest:
    """The whole app, run, with the login form filled in and submitted."""
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.text_input(key="login_name").input(name)
    app.text_input(key="login_password").input(password)
    app.button[0].click()
    return app.run()
