"""The real bridge against the device simulators (a separate process) on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from itertools import count
from pathlib import Path
from typing import Any

import duckdb
import pytest

from line_bridge.bridge import Batch, Endpoint, LineBridge, LineConfig, LineHeldError
from line_bridge.runner import HOST, run_simulated_batch, simulators
from line_bridge.streams import LineStreams
from serialtrace.gs1.keys import make_sscc

GTIN = "00312345678906"


def _config(case_size: int = 10, pallet_size: int = 4) -> LineConfig:
    nowhere = Endpoint(HOST, 0)
    return LineConfig(
        "LINE-T", nowhere, nowhere, nowhere, case_size=case_size, pallet_size=pallet_size
    )


def _batch(n: int) -> Batch:
    return Batch(
        "WO-T",
        GTIN,
        "12345-678-90",
        "LOT1",
        date(2028, 10, 31),
        [f"{i:012d}" for i in range(1, n + 1)],
    )


def _sscc() -> Callable[[str], str]:
    numbers = count(1)
    return lambda level: make_sscc("0312345", 0 if level == "case" else 1, next(numbers))


def _stream(raw: Path, name: str) -> str:
    return f"read_parquet('{raw}/{name}/*/*.parquet')"


def test_batch_streams_account_for_every_unit(tmp_path: Path) -> None:
    raw = tmp_path / "line"
    result = run_simulated_batch(_config(), _batch(400), raw, _sscc(), fault_rate=0.15, seed=7)
    assert result.printed == 400
    assert result.passed + result.rejected == 400
    assert result.rejected > 20  # 15 % faults drawn
    # every simulated fault shows up; a misprint may also decode to a serial that already
    # passed, which the bridge rightly calls a duplicate
    assert {"wrong_data", "unreadable", "low_grade"} <= set(result.reject_causes)
    assert set(result.reject_causes) <= {"wrong_data", "unreadable", "low_grade", "duplicate"}
    con = duckdb.connect()

    def q(sql: str) -> list[Any]:
        return con.execute(sql).fetchall()

    assert q(f"select count(*), count(distinct serial) from {_stream(raw, 'print')}") == [
        (400, 400)
    ]
    assert q(f"select count(distinct seq) from {_stream(raw, 'inspect')}") == [(400,)]
    fails = q(f"select expected_serial, cause from {_stream(raw, 'inspect')} where outcome='fail'")
    rejects = q(f"select serial, cause from {_stream(raw, 'reject')} where confirmed")
    assert sorted(fails) == sorted(rejects)
    items = q(f"select child_serial from {_stream(raw, 'aggregate')} where child_level='item'")
    passed = q(f"select expected_serial from {_stream(raw, 'inspect')} where outcome='pass'")
    assert sorted(items) == sorted(passed)
    assert len({s for (s,) in items}) == result.passed
    cases = q(
        f"select count(distinct parent_sscc) from {_stream(raw, 'aggregate')} "
        "where parent_level='case'"
    )
    assert cases == [(result.cases,)] and result.cases == -(-result.passed // 10)
    # every failed inspection says why: the decoded data differs, or the grade, or nothing read
    rows = q(
        f"select cause, decoded_payload is null, grade_value from {_stream(raw, 'inspect')} "
        "where outcome='fail'"
    )
    for cause, nothing, grade in rows:
        assert (cause == "unreadable") == nothing
        if cause == "low_grade":
            assert grade < 1.5


def test_unconfirmed_reject_holds_the_line(tmp_path: Path) -> None:
    async def go(ports: dict[str, int]) -> None:
        cfg = replace(
            _config(),
            printer=Endpoint(HOST, ports["printer"]),
            camera=Endpoint(HOST, ports["camera"]),
            gate=Endpoint(HOST, ports["gate"]),
        )
        bridge = LineBridge(cfg, LineStreams(tmp_path, "WO-T", "LINE-T"), _sscc())
        await bridge.run(_batch(300))

    with (
        simulators(fault_rate=0.3, seed=3, unconfirmed_reject_rate=1.0) as ports,
        pytest.raises(LineHeldError, match="not confirmed"),
    ):
        asyncio.run(go(ports))
    # the unconfirmed reject is on record, not lost
    con = duckdb.connect()
    rows = con.execute(f"select confirmed from {_stream(tmp_path, 'reject')}").fetchall()
    assert (False,) in rows


def test_unreachable_device_is_a_clear_error(tmp_path: Path) -> None:
    cfg = _config()  # port 0: nothing listens there
    bridge = LineBridge(cfg, LineStreams(tmp_path, "WO-T", "LINE-T"), _sscc())
    with pytest.raises(LineHeldError, match="cannot reach the printer"):
        asyncio.run(bridge.run(_batch(5)))
