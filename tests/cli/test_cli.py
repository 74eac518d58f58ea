"""The CLI: one-line errors, non-zero exits, --home for every subcommand."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from serialtrace.cli import build_parser, main
from serialtrace.settings import PROJECT_ROOT

SERIALTRACE = [sys.executable, "-m", "serialtrace.cli"]


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERIALTRACE, *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize("units", ["-5", "0", "many"])
def test_bad_units_is_one_line_and_nonzero(units: str) -> None:
    done = _run("demo", "--units", units)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--units" in lines[0]
    assert "Traceback" not in done.stderr


def test_unwritable_home_is_one_line_and_nonzero(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = _run("demo", "--units", "10", "--home", str(blocker / "home"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("serialtrace: error: home folder") and "not writable" in lines[-1]
    assert "Traceback" not in done.stderr


def test_dashboards_without_a_warehouse_says_what_to_do(tmp_path: Path) -> None:
    assert main(["dashboards", "--home", str(tmp_path)]) == 2


def test_every_subcommand_accepts_home() -> None:
    parser = build_parser()

    def check(parser: argparse.ArgumentParser, path: str) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            assert any("--home" in a.option_strings for a in parser._actions), path
        for sub in subs:
            for name, choice in sub.choices.items():
                check(choice, f"{path} {name}")

    check(parser, "serialtrace")


def test_home_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from serialtrace.settings import resolve_home

    monkeypatch.setenv("SERIALTRACE_HOME", str(tmp_path / "h"))
    assert resolve_home().root == tmp_path / "h"
    assert resolve_home(str(tmp_path / "x")).root == tmp_path / "x"


def test_one_command_imports_only_its_group() -> None:
    """A line bridge process (`serialtrace line run`) must stay small (issue #5: at most
    200 MB per bridge): it must not load the PDF, dataframe, AS2 or dashboard libraries
    that other command groups use."""
    import subprocess
    import sys

    code = (
        "import sys; from serialtrace.cli import build_parser; build_parser('line'); "
        "print(' '.join(sorted(m for m in ('fpdf', 'pandas', 'pyas2lib', 'streamlit', "
        "'dagster', 'partners', 'alerts', 'verification') if m in sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
    whole = subprocess.run(
        [sys.executable, "-c", code.replace("build_parser('line')", "build_parser()")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert "fpdf" in whole.split()  # the full parser does load them: the check can fail


def test_a_group_command_parses_like_the_full_parser(tmp_path: Path) -> None:
    assert main(["gs1", "parse", "--home", str(tmp_path), "(01)09506000134352(21)ABC"]) == 0
