from __future__ import annotations

import os

import pytest

from serialtrace.demo import DemoResult, run_demo
from serialtrace.settings import Home

DEMO_UNITS = 700


@pytest.fixture(autouse=True)
def _acting_demo_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI commands in tests act as the demo's admin (serialtrace/acting.py): the demo
    home's user store holds the demo users; on a home with an empty store the OS account
    acts whatever the name. Tests of the acting rules set or delete it themselves."""
    if "SERIALTRACE_USER" not in os.environ:
        monkeypatch.setenv("SERIALTRACE_USER", "demo-admin")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, DemoResult]:
    """One small demo batch through every stage, shared by the tests that read its output."""
    home = Home(tmp_path_factory.mktemp("home"))
    result = run_demo(home, DEMO_UNITS, seed=11, say=lambda _: None)
    return home, result
