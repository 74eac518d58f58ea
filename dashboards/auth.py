"""Login, logout and the chosen client data space of one dashboards session (Streamlit).

- The login form checks the user name and password against the installation's one user
  store (``Home.installation.users_db``); a failure gives one generic message, whatever was
  wrong (unknown user, wrong password, disabled user) and takes as long either way.
- The session keeps only the user's *name* (``st.session_state``, server side; no widget
  uses that key, so a browser cannot set it). Every script run reloads the user from the
  store: a user disabled or removed while logged in is thrown out at the next interaction,
  and a change of roles or clients applies at once.
- The sidebar offers the client data spaces (``Home.data_spaces()``) the user may see; the
  chosen client is re-checked on every page (``dashboards/common.py``). The query string
  is never read: a URL cannot name a client.
- No user at all: the app shows how to create the first admin, never the pages.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable

import streamlit as st

from dashboards import access
from dashboards.login_hint import first_admin_command, has_users
from serialtrace.errors import SerialtraceError
from serialtrace.settings import CLIENT_ENV, Home, resolve_home
from serialtrace.users import (
    AuthenticationError,
    LockedOutError,
    User,
    UserStore,
    check_password,
    hash_password,
)

#: Session-state keys (server side). USER_KEY is set only by a successful login.
USER_KEY = "serialtrace_user"
CLIENT_KEY = "serialtrace_client"
NOTICE_KEY = "serialtrace_notice"
#: The one message of a failed login (it never says which part was wrong).
LOGIN_FAILED = "Login failed: wrong user name or password, or the account is disabled."
SESSION_ENDED = "Your session has ended: log in again."
LOGIN_LOCKED = (
    "Login locked after too many failed attempts, until {until}. "
    "An administrator can unlock it by setting a new password."
)

_dummy_hash: list[str] = []  # one random hash per process (no secret: nobody knows its input)


def installation() -> Home:
    """The installation the app serves (``SERIALTRACE_HOME``; its root if it names a client)."""
    return resolve_home().installation


def check_credentials(users: UserStore, name: str, password: str) -> User | None:
    """The enabled user with this name and password, else None. One password hash is
    computed whatever the outcome, so the time taken does not tell an unknown or disabled
    user from a wrong password. Every failure counts towards the name's lock (unknown
    names too); a locked name raises :class:`LockedOutError`, whatever the password."""
    try:
        known: User | None = users.get(name)
    except SerialtraceError:
        known = None
    if known is None or known.disabled:  # authenticate() keeps the lock of a known user
        until = users.locked_until(name)
        if until is not None:
            raise LockedOutError(name, until)
        if not _dummy_hash:
            _dummy_hash.append(hash_password(secrets.token_urlsafe(24)))
        check_password(password, _dummy_hash[0])
        locked = users.record_failed_login(name)
        if locked is not None:
            raise LockedOutError(name, locked)
        return None
    try:
        return users.authenticate(name, password)
    except LockedOutError:
        raise
    except AuthenticationError:
        return None


def _enabled_user(home: Home, name: str) -> User | None:
    if not home.users_db.exists():
        return None
    try:
        user = UserStore(home.users_db).get(name)
    except SerialtraceError:
        return None
    return None if user.disabled else user


def end_session(notice: str | None = None) -> None:
    """Forget everything this session held (user, client, every page's widget state)."""
    st.session_state.clear()
    if notice:
        st.session_state[NOTICE_KEY] = notice


def session_user(home: Home) -> User | None:
    """The logged-in user, reloaded from the store on every run; a user disabled or removed
    since the login ends the session (None, and the login page says so)."""
    name = st.session_state.get(USER_KEY)
    if not isinstance(name, str) or not name:
        return None
    user = _enabled_user(home, name)
    if user is None:
        end_session(SESSION_ENDED)
    return user


def _default_client(visible: list[str]) -> str:
    preferred = os.environ.get(CLIENT_ENV)
    return preferred if preferred in visible else visible[0]


def chosen_space(home: Home, user: User) -> Home | None:
    """The data space this session chose (the sidebar), if ``user`` may see it; without a
    choice yet, the first the user may see. None: the user may see no data space here, or
    the chosen one is not theirs."""
    spaces = home.data_spaces()
    visible = access.visible_clients(user, spaces)
    if not visible:
        return None
    chosen = st.session_state.get(CLIENT_KEY)
    if chosen is None:
        chosen = _default_client(visible)
    return spaces[chosen] if chosen in visible else None


def client_picker(home: Home, user: User) -> Home | None:
    """The sidebar's choice of client data space (only the ones ``user`` may see); None
    when there is none."""
    spaces = home.data_spaces()
    visible = access.visible_clients(user, spaces)
    if not visible:
        return None
    if st.session_state.get(CLIENT_KEY) not in visible:  # first run, or clients changed
        st.session_state[CLIENT_KEY] = _default_client(visible)
    chosen = st.sidebar.selectbox("Client data space", visible, key=CLIENT_KEY)
    return spaces[chosen] if chosen in visible else None


def sidebar_user(user: User) -> None:
    """Who is logged in, and the logout button."""
    st.sidebar.caption(f"Logged in as **{user.full_name}** ({user.name}) · {', '.join(user.roles)}")
    st.sidebar.button("Log out", key="logout", on_click=end_session)


def login_page() -> None:
    """The login form (or, with no user at all, how to create the first admin)."""
    home = installation()
    st.title("Serialtrace: log in")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if isinstance(notice, str):
        st.info(notice)
    if not has_users(home):
        st.warning(
            "No user exists in this installation yet: the dashboards open only to a user. "
            "Create the first administrator, then log in as them:"
        )
        st.code(first_admin_command(home), language="bash")
        return
    with st.form("login", clear_on_submit=True):
        name = st.text_input("User name", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in")
    if not submitted:
        return
    try:
        user = check_credentials(UserStore(home.users_db), name.strip(), password)
    except LockedOutError as exc:
        st.error(LOGIN_LOCKED.format(until=f"{exc.until:%Y-%m-%d %H:%M} UTC"))
        return
    if user is None:
        st.error(LOGIN_FAILED)
        return
    end_session()  # nothing of a previous session survives a login
    st.session_state[USER_KEY] = user.name
    st.rerun()


def message_page(title: str, text: str) -> Callable[[], None]:
    """A page that only shows ``text`` (e.g. no data space for this user)."""

    def show() -> None:
        st.title(title)
        st.error(text)

    show.__name__ = "message"
    return show


def refusal_message(user: User, spec: access.PageSpec) -> str:
    """Why ``user`` may not open the page ``spec``."""
    return (
        f"{user.name} ({', '.join(user.roles)}) may not open {spec.title}: "
        f"it needs one of the roles {', '.join(spec.roles)}."
    )


def no_space_message(user: User) -> str:
    """What a user who may see no data space of this installation is told (it names the
    user's own clients only, never the installation's other clients)."""
    return (
        f"{user.name} may see the data of {', '.join(user.clients)} only, and this "
        "installation holds no data space of theirs. Ask an administrator."
    )
