"""The client boundary and the login, in a real browser: one CMO installation with two
client data spaces (the demo's warehouse, and ACME's copy whose batches printed a figure
nobody else has), served by `serialtrace dashboards`; users who may see one client each
never see the other's figures, whatever URL they open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashboards.auth import LOGIN_FAILED
from tests.dashboards.conftest import ACME_PRINTED, TwoClients
from tests.dashboards.login import ensure_user
from tests.dashboards.test_browser import (  # the browser and server helpers
    _login,
    _no_error,
    _open,
    _settle,
    _shoot,
    _start_dashboards,
    browser,  # noqa: F401 - a fixture
)


@pytest.fixture(scope="module")
def cmo_server(two_clients: TwoClients) -> Iterator[str]:
    ensure_user(two_clients.installation, "line-op", ["operator"])
    yield from _start_dashboards(two_clients.installation)


def _metric(page: object, label: str) -> str:
    metrics = page.locator('[data-testid="stMetric"]')  # type: ignore[attr-defined]
    for i in range(metrics.count()):
        text = str(metrics.nth(i).inner_text())
        if text.startswith(label):
            return text.split()[-1]
    raise AssertionError(f"no {label} metric")


def _client_options(page: object) -> list[str]:
    """The choices of the sidebar's client data space box (opened, read, closed)."""
    sidebar = page.locator('[data-testid="stSidebar"]')  # type: ignore[attr-defined]
    sidebar.locator('[data-testid="stSelectbox"]').first.click()
    options = page.get_by_role("option")  # type: ignore[attr-defined]
    options.first.wait_for(timeout=10_000)
    names = [str(options.nth(i).inner_text()).strip() for i in range(options.count())]
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    return names


def test_each_client_user_sees_only_their_figures(
    cmo_server: str,
    browser: object,  # noqa: F811 - the fixture imported above
    two_clients: TwoClients,
) -> None:
    acme = _open(browser, cmo_server, "Line and batch quality", user=two_clients.acme_user)
    _no_error(acme)
    assert _metric(acme, "Printed") == f"{ACME_PRINTED:,}"
    assert _client_options(acme) == ["ACME"]
    _shoot(acme, "client-acme")

    # the root's user, even with the other client named in the URL, sees only their own
    url = f"{cmo_server}/?client=ACME&SERIALTRACE_CLIENT=ACME"
    root = _open(browser, url, "Line and batch quality", user=two_clients.root_user)
    _no_error(root)
    assert _metric(root, "Printed") == f"{two_clients.home_printed:,}"
    assert f"{ACME_PRINTED:,}" not in root.inner_text("body")  # type: ignore[attr-defined]
    assert _client_options(root) == ["default"]
    root.close()  # type: ignore[attr-defined]


def test_a_page_outside_the_role_is_refused_by_url(
    cmo_server: str,
    browser: object,  # noqa: F811
) -> None:
    page = _open(browser, f"{cmo_server}/alerts", "Serialtrace", user="line-op")
    body = page.inner_text("body")  # type: ignore[attr-defined]
    assert "line-op (operator) may not open Suspect product alerts" in body, body[:800]
    assert "Queue" not in body and "Open cases" not in body
    nav = page.locator('[data-testid="stSidebarNavLink"]')  # type: ignore[attr-defined]
    assert nav.count() == 0  # one page only: no navigation to other pages


def test_a_wrong_password_in_the_browser(
    cmo_server: str,
    browser: object,  # noqa: F811
    two_clients: TwoClients,
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page.goto(cmo_server, wait_until="domcontentloaded")
    name_box = page.get_by_label("User name")
    name_box.wait_for(timeout=60_000)
    _settle(page)
    _shoot(page, "login")
    _login(page, two_clients.acme_user, "not-the-password")
    page.get_by_text(LOGIN_FAILED).wait_for(timeout=30_000)
    assert page.locator('[data-testid="stMetric"]').count() == 0
