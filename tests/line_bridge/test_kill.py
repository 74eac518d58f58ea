"""kill -9 the bridge again and again during a batch: nothing the devices acknowledged is
lost or doubled, and no serial is ever sent to the printer twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from line_bridge.runner import SimulatorOptions, simulators
from line_bridge.simulator import FaultRates
from serialtrace.config import load_demo_config
from serialtrace.demo import open_work_order
from serialtrace.serials.ledger import SerialLedger
from serialtrace.settings import Home

UNITS = 2500
WO = "WO-KILL-1"


def _prepare(home: Home) -> None:
    with SerialLedger(home.ensure().serial_ledger) as ledger:
        open_work_order(home, load_demo_config(), UNITS, ledger, WO)


def _line_file(path: Path, ports: dict[str, int]) -> Path:
    devices = "\n".join(
        f'[devices.{kind}]\ndriver = "jsonl"\nhost = "127.0.0.1"\nport = {port}\n'
        for kind, port in ports.items()
    )
    path.write_text(f'[line]\nid = "LINE-K"\ncase_size = 20\npallet_size = 40\n\n{devices}')
    return path


def _bridge(home: Home, line: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "serialtrace.cli",
            "line",
            "run",
            "--line",
            str(line),
            "--order",
            WO,
            "--home",
            str(home.root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_repeatedly_then_finish(
    home: Home, line: Path, times: int, rng: random.Random, pause: tuple[float, float]
) -> int:
    """Start the bridge, kill -9 it mid-batch (after its first new print command, then a
    random pause) up to ``times`` times, then let a last run finish; the kills landed."""
    commands = home.raw_line / "_journal" / f"work_order={WO}" / "print_command.jsonl"
    kills = 0
    for _ in range(times):
        before = commands.stat().st_size if commands.exists() else 0
        bridge = _bridge(home, line)
        deadline = time.monotonic() + 60
        while (commands.stat().st_size if commands.exists() else 0) == before:
            if bridge.poll() is not None:  # it stopped on its own: say why
                _, err = bridge.communicate()
                raise AssertionError(f"bridge exited {bridge.returncode}: {err.decode()}")
            assert time.monotonic() < deadline, "the bridge printed nothing within 60 s"
            time.sleep(0.01)
        time.sleep(rng.uniform(*pause))
        if bridge.poll() is not None:
            break
        os.kill(bridge.pid, signal.SIGKILL)
        bridge.wait()
        kills += 1
    final = _bridge(home, line)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    return kills


def test_repeated_kill_9_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    _prepare(home)
    rng = random.Random(99)
    # devices that run slower than the bridge, so kills land mid-batch
    options = SimulatorOptions(faults=FaultRates.spread(0.03), seed=8, rate_per_min=60_000)
    with simulators(options) as ports:
        line = _line_file(tmp_path / "line.toml", ports)
        kills = kill_repeatedly_then_finish(home, line, 6, rng, (0.0, 0.4))
    assert kills >= 3

    con = duckdb.connect()
    for stream in ("print", "inspect", "reject", "aggregate", "line_state"):
        con.execute(
            f"create view {stream}_s as select * from read_parquet("
            f"'{home.raw_line}/{stream}/work_order={WO}/*.parquet')"
        )

    def one(sql: str) -> tuple[object, ...]:
        row = con.execute(sql).fetchone()
        assert row is not None
        return row

    # every serial went to the printer exactly once, and every one is accounted for
    assert one("select count(*), count(distinct serial), count(distinct seq) from print_s") == (
        UNITS,
        UNITS,
        UNITS,
    )
    assert one("select count(*), count(distinct seq) from inspect_s") == (UNITS, UNITS)
    assert one("select count(*) from print_s p anti join inspect_s i using (seq)") == (0,)
    # every failed unit has exactly one reject record; passed units none
    assert one("select count(*), count(distinct seq) from reject_s") == one(
        "select count(*), count(*) from inspect_s where outcome = 'fail'"
    )
    assert one(
        "select count(*) from reject_s r join inspect_s i using (seq) where i.outcome = 'pass'"
    ) == (0,)
    # units in flight at each kill were retired, never silently dropped
    retired = one("select count(*) from reject_s where cause = 'in_flight_at_stop'")[0]
    assert isinstance(retired, int) and retired >= 1
    # every passed item is in exactly one case, every case on exactly one pallet
    assert one(
        "select count(*), count(distinct child_serial) from aggregate_s where child_level = 'item'"
    ) == one("select count(*), count(*) from inspect_s where outcome = 'pass'")
    assert one(
        "select count(*) - count(distinct child_sscc) from aggregate_s where child_level = 'case'"
    ) == (0,)
    assert one(
        "select count(*) from (select parent_sscc from aggregate_s where "
        "parent_level = 'case' group by all having count(*) > 20)"
    ) == (0,)
    # the Parquet parts hold every complete journal line exactly once
    journal = home.raw_line / "_journal" / f"work_order={WO}"
    for stream in ("print", "inspect", "reject", "aggregate"):
        lines = sum(
            1 for line in (journal / f"{stream}.jsonl").read_bytes().splitlines() if line.strip()
        )
        rows = one(f"select count(*) from {stream}_s")[0]
        assert rows == lines, stream
    restarts = one("select count(*) from line_state_s where from_state = 'aborted'")[0]
    assert restarts == kills
    json.dumps({"kills": kills, "retired": retired})
