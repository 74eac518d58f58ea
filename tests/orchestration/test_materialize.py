"""`serialtrace materialize`: a decommissioning recorded after the demo reaches the
warehouse and its EPCIS document through one command."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from serialtrace.cli import main
from serialtrace.demo import DemoResult
from serialtrace.settings import Home


def test_materialize_picks_up_a_decommissioning(
    demo: tuple[Home, DemoResult], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, result = demo
    home = Home(tmp_path / "home")
    shutil.copytree(source.root, home.root)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        row = con.execute(
            "select case_sscc, count(*) from serial_lifecycle where case_sscc is not null "
            "group by all order by 1 limit 1"
        ).fetchone()
    assert row is not None
    case, items = row
    assert (
        main(
            [
                "serials",
                "decommission",
                "--home",
                str(home.root),
                "--sscc",
                case,
                "--reason",
                "destroyed",
                "--user",
                "demo-qa",
            ]
        )
        == 0
    )
    assert main(["materialize", "--home", str(home.root)]) == 0
    out = capsys.readouterr().out
    documents = [Path(line.split()[-1]) for line in out.splitlines() if line.startswith("  EPCIS")]
    assert len(documents) == 1 and documents[0].is_file()
    assert "urn:epcglobal:cbv:bizstep:destroying" in documents[0].read_text()
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        statuses = con.execute(
            "select status, status_reason, count(*) from serial_lifecycle where case_sscc = ? "
            "group by all",
            [case],
        ).fetchall()
    assert statuses == [("decommissioned", "destroyed", items)]
    # the batch document already existed: not rendered again
    assert not any(result.work_order_id in str(p) for p in documents)


def test_materialize_rejects_an_empty_selection(tmp_path: Path) -> None:
    assert main(["materialize", "--home", str(tmp_path), "--select", "key:no_such_asset"]) == 2
