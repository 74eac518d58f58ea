from __future__ import annotations

import pytest

from serialtrace.demo import DemoResult, run_demo
from serialtrace.settings import Home

DEMO_UNITS = 700


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, DemoResult]:
    """One small demo batch through every stage, shared by the tests that read its output."""
    home = Home(tmp_path_factory.mktemp("home"))
    result = run_demo(home, DEMO_UNITS, seed=11, say=lambda _: None)
    return home, result
