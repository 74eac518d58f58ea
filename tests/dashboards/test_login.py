"""Login, roles and client data spaces, through the whole app run by Streamlit's AppTest
(the login form filled in as a user would) and through single pages run as a user."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboards import access, auth
from dashboards.auth import CLIENT_KEY, LOGIN_FAILED, LOGIN_LOCKED, SESSION_ENDED, USER_KEY
from serialtrace.settings import Home
from serialtrace.users import User, UserStore
from tests.dashboards.conftest import ACME_PRINTED, TwoClients
from tests.dashboards.login import APP, PASSWORD, app_login, ensure_user, view_app


@pytest.fixture
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Home:
    """An installation without a warehouse (the pages say so: cheap) and two users."""
    home = Home(tmp_path / "inst")
    home.root.mkdir()
    monkeypatch.setenv("SERIALTRACE_HOME", str(home.root))
    monkeypatch.delenv("SERIALTRACE_CLIENT", raising=False)
    ensure_user(home, "qa", ["quality"])
    ensure_user(home, "op", ["operator"])
    return home


@pytest.fixture
def on_two_clients(two_clients: TwoClients, monkeypatch: pytest.MonkeyPatch) -> TwoClients:
    monkeypatch.setenv("SERIALTRACE_HOME", str(two_clients.installation.root))
    monkeypatch.delenv("SERIALTRACE_CLIENT", raising=False)
    return two_clients


def _texts(app: AppTest) -> str:
    parts = [e.value for kind in (app.title, app.error, app.info, app.warning) for e in kind]
    return "\n".join(str(p) for p in parts)


def test_no_user_at_all_shows_how_to_create_the_first_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERIALTRACE_HOME", str(tmp_path))
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception
    assert "No user exists" in app.warning[0].value
    assert "serialtrace users add" in app.code[0].value and "--role admin" in app.code[0].value
    assert not app.text_input and not app.button  # no form, and no page
    assert not (tmp_path / "users.sqlite").exists()  # looking does not create the store
    # a page opened alone is refused too: nobody is logged in
    page = AppTest.from_file(str(Path(APP).parent / "views" / "reconciliation.py")).run()
    assert "Log in first" in page.error[0].value and not page.metric


def test_login_shows_the_pages_and_logout_forgets_the_session(installation: Home) -> None:
    app = app_login("qa")
    assert not app.exception
    assert app.session_state[USER_KEY] == "qa"
    assert any("Logged in as" in c.value and "(qa)" in c.value for c in app.sidebar.caption)
    assert "No warehouse at" in app.error[0].value  # the start page ran, for this home
    assert "Log out" in [b.label for b in app.sidebar.button]
    app.sidebar.button(key="logout").click().run()
    assert not app.exception
    assert USER_KEY not in app.session_state and CLIENT_KEY not in app.session_state
    assert app.title[0].value == "Serialtrace: log in"
    assert [t.label for t in app.text_input] == ["User name", "Password"]


@pytest.mark.parametrize(
    ("name", "password"),
    [("qa", "wrong-password"), ("nobody", PASSWORD), ("", ""), ("qa", "")],
)
def test_a_failed_login_says_one_generic_thing(
    installation: Home, name: str, password: str
) -> None:
    app = app_login(name, password)
    assert not app.exception
    assert [e.value for e in app.error] == [LOGIN_FAILED]
    assert USER_KEY not in app.session_state
    assert not app.sidebar.caption  # no page, nobody logged in


def test_too_many_failed_logins_lock_the_name_in_the_app(installation: Home) -> None:
    """Failures count towards a lock whoever the name is (a user, or not); the login that
    locks and every login while locked (the right password included) say so, with the
    time the lock ends, and log nobody in."""
    from serialtrace.users import MAX_FAILED_LOGINS

    users = UserStore(installation.users_db)
    for name in ("qa", "nobody"):
        for _ in range(MAX_FAILED_LOGINS - 1):
            assert auth.check_credentials(users, name, "wrong-password") is None
        for password in ("wrong-password", PASSWORD):
            app = app_login(name, password)
            assert not app.exception
            (error,) = [e.value for e in app.error]
            assert error.startswith(LOGIN_LOCKED.split("{until}")[0]) and "UTC" in error
            assert USER_KEY not in app.session_state
    users.set_password("qa", PASSWORD, by="tests")  # an admin unlocks
    assert app_login("qa").session_state[USER_KEY] == "qa"


def test_a_disabled_user_cannot_log_in(installation: Home) -> None:
    UserStore(installation.users_db).disable("op", by="tests")
    app = app_login("op")
    assert [e.value for e in app.error] == [LOGIN_FAILED]
    assert USER_KEY not in app.session_state


def test_a_user_disabled_while_logged_in_is_thrown_out(installation: Home) -> None:
    app = app_login("qa")
    assert app.session_state[USER_KEY] == "qa"
    UserStore(installation.users_db).disable("qa", by="tests")
    app.run()  # the next interaction
    assert not app.exception
    assert USER_KEY not in app.session_state
    assert app.info[0].value == SESSION_ENDED
    assert app.title[0].value == "Serialtrace: log in"


def test_failed_logins_take_one_password_hash_whatever_was_wrong(
    installation: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    import serialtrace.users.passwords as passwords

    users = UserStore(installation.users_db)
    UserStore(installation.users_db).disable("op", by="tests")
    auth.check_credentials(users, "nobody", "x" * 10)  # makes the process's dummy hash
    derived: list[int] = []
    real = passwords._derive

    def counting(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
        derived.append(log2_n)
        return real(password, salt, log2_n, r, p)

    monkeypatch.setattr(passwords, "_derive", counting)
    for name, password in (("nobody", PASSWORD), ("op", PASSWORD), ("qa", "wrong-password")):
        derived.clear()
        assert auth.check_credentials(users, name, password) is None
        assert derived == [passwords.LOG2_N], name  # one hash at the stored cost, every time
    assert auth.check_credentials(users, "qa", PASSWORD) == users.get("qa")


def test_the_navigation_holds_only_the_pages_of_the_roles(on_two_clients: TwoClients) -> None:
    ensure_user(on_two_clients.installation, "line-op", ["operator"])
    operator = app_login("line-op")
    assert not operator.exception
    assert operator.title[0].value == "Line and batch quality"
    for view in ("views/alerts.py", "views/serial_lookup.py", "views/reconciliation.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            operator.switch_page(view)
    quality = app_login(on_two_clients.root_user)
    quality.switch_page("views/reconciliation.py").run()
    assert not quality.exception and quality.title[0].value == "Reconciliation"


@pytest.mark.parametrize(
    "view", [p.file_name for p in access.PAGES if p.page_id != "batch_quality"]
)
def test_a_page_opened_without_the_role_is_refused(on_two_clients: TwoClients, view: str) -> None:
    ensure_user(on_two_clients.installation, "line-op", ["operator"])
    app = view_app(view, user="line-op").run()
    assert not app.exception
    assert "may not open" in app.error[0].value and "operator" in app.error[0].value
    assert not app.metric and not app.dataframe


def test_the_auditor_reads_every_page(on_two_clients: TwoClients) -> None:
    ensure_user(on_two_clients.installation, "auditor", ["auditor"])
    app = view_app("reconciliation.py", user="auditor").run()
    assert not app.exception and app.metric[0].value.endswith("of 1")


def test_the_client_choice_offers_only_the_users_clients(on_two_clients: TwoClients) -> None:
    admin = app_login(on_two_clients.admin)
    assert admin.sidebar.selectbox(key=CLIENT_KEY).options == ["default", "ACME"]
    acme = app_login(on_two_clients.acme_user)
    assert acme.sidebar.selectbox(key=CLIENT_KEY).options == ["ACME"]
    printed = next(m.value for m in acme.metric if m.label == "Printed")
    assert printed == f"{ACME_PRINTED:,}"
    root = app_login(on_two_clients.root_user)
    assert root.sidebar.selectbox(key=CLIENT_KEY).options == ["default"]
    printed = next(m.value for m in root.metric if m.label == "Printed")
    assert printed == f"{on_two_clients.home_printed:,}"


def test_the_admin_switches_client_and_sees_its_figures(on_two_clients: TwoClients) -> None:
    app = app_login(on_two_clients.admin)
    assert next(m.value for m in app.metric if m.label == "Printed") == (
        f"{on_two_clients.home_printed:,}"
    )
    app.sidebar.selectbox(key=CLIENT_KEY).select("ACME").run()
    assert not app.exception
    assert next(m.value for m in app.metric if m.label == "Printed") == f"{ACME_PRINTED:,}"


def test_neither_the_session_nor_the_url_reach_another_clients_data(
    on_two_clients: TwoClients,
) -> None:
    # a page told (server side) to show a client the user may not see refuses
    app = view_app("batch_quality.py", user=on_two_clients.root_user, client="ACME").run()
    assert not app.exception
    assert "may see the data of default only" in app.error[0].value
    assert not app.metric
    # the query string is not read: the user's own client is shown
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.query_params["client"] = "ACME"
    app.query_params["SERIALTRACE_CLIENT"] = "ACME"
    app.run()
    app.text_input(key="login_name").input(on_two_clients.root_user)
    app.text_input(key="login_password").input(PASSWORD)
    app.button[0].click().run()
    assert app.sidebar.selectbox(key=CLIENT_KEY).options == ["default"]
    assert f"{ACME_PRINTED:,}" not in [m.value for m in app.metric]


def test_a_user_of_no_data_space_here_is_told_so(on_two_clients: TwoClients) -> None:
    ensure_user(on_two_clients.installation, "beta-qa", ["quality"], ["BETA"])
    app = app_login("beta-qa")
    assert not app.exception
    assert "may see the data of BETA only" in app.error[0].value
    assert "ACME" not in _texts(app) and "default" not in _texts(app)  # no other client named
    assert not app.metric and not app.sidebar.selectbox


def _user(
    roles: tuple[str, ...], clients: tuple[str, ...] = ("*",), disabled: bool = False
) -> User:
    return User("u1", "U One", roles, clients, None, disabled)


def test_pages_and_actions_per_role() -> None:
    every = [p.page_id for p in access.PAGES]
    assert [p.page_id for p in access.pages_for(_user(("operator",)))] == ["batch_quality"]
    for role in ("quality", "serialization_admin", "admin", "auditor"):
        assert [p.page_id for p in access.pages_for(_user((role,)))] == every, role
    assert access.pages_for(_user(("admin",), disabled=True)) == []
    assert access.alert_actions(_user(("auditor",))) == ()
    assert access.alert_actions(_user(("operator",))) == ()
    assert access.alert_actions(_user(("serialization_admin",))) == ("evidence", "note")
    assert access.alert_actions(_user(("auditor", "quality"))) == access.ALL_ALERT_ACTIONS
    assert access.may_sign(_user(("quality",))) and not access.may_sign(_user(("auditor",)))
    assert not access.may_sign(_user(("serialization_admin",)))
    with pytest.raises(KeyError, match="nope"):
        access.may_open(_user(("admin",)), "nope")


def test_visible_clients() -> None:
    spaces = ["default", "ACME", "BETA"]
    assert access.visible_clients(_user(("quality",), ("*",)), spaces) == spaces
    assert access.visible_clients(_user(("quality",), ("BETA", "ACME")), spaces) == [
        "ACME",
        "BETA",
    ]
    assert access.visible_clients(_user(("quality",), ("ZED",)), spaces) == []
    assert access.visible_clients(_user(("admin",), ("*",), disabled=True), spaces) == []


def test_the_cli_says_how_to_log_in(tmp_path: Path) -> None:
    from dashboards.login_hint import login_hint

    home = Home(tmp_path / "inst")
    acme = home.client("ACME")
    hint = login_hint(acme)
    assert "No user exists yet" in hint
    assert f"--role admin --home {home.root}" in hint  # the installation, not the client
    assert not home.users_db.exists()
    ensure_user(home, "qa", ["quality"])
    assert login_hint(acme).startswith(f"Log in with a user of {home.users_db}")
    assert "Demo users" not in login_hint(acme)
    ensure_user(home, "demo-qa", ["quality"])
    assert "Demo users: demo-qa (their password: docs/alerts.md, Demo)." in login_hint(acme)
