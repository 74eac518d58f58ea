"""kill -9 the bridge of a line with aggregation stations (case packer, labelers,
palletizer) during a batch: nothing lost or doubled, no item in two cases, every closed
container labelled exactly once, though stations and label printers deliver their
messages at least once (a message the killed bridge read may come again)."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb

from line_bridge.runner import SimulatorOptions, simulators
from line_bridge.simulator import FaultRates
from serialtrace.settings import Home
from tests.line_bridge.test_kill import UNITS, WO, _prepare, kill_repeatedly_then_finish

KINDS = ("printer", "camera", "gate", "case_packer", "case_labeler", "palletizer", "pallet_labeler")


def _line_file(path: Path, ports: dict[str, int]) -> Path:
    devices = "\n".join(
        f'[devices.{kind}]\ndriver = "jsonl"\nhost = "127.0.0.1"\nport = {ports[kind]}\n'
        for kind in KINDS
    )
    path.write_text(
        f'[line]\nid = "LINE-KS"\ncase_size = 20\npallet_size = 40\nlabel_reprints = 6\n\n{devices}'
    )
    return path


def test_kill_9_with_stations_keeps_the_packing_consistent(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    _prepare(home)
    rng = random.Random(7)
    options = SimulatorOptions(
        faults=FaultRates(
            misprint=0.01, unreadable=0.01, low_grade=0.01, bad_label=0.05, labeler_down=0.01
        ),
        seed=9,
        rate_per_min=60_000,
        stations=True,
    )
    with simulators(options) as ports:
        line = _line_file(tmp_path / "line.toml", ports)
        kills = kill_repeatedly_then_finish(home, line, 4, rng, (0.2, 1.2))
    assert kills >= 2
    con = duckdb.connect()
    for stream in ("print", "inspect", "reject", "aggregate", "station"):
        con.execute(
            f"create view {stream}_s as select * from read_parquet("
            f"'{home.raw_line}/{stream}/work_order={WO}/*.parquet')"
        )

    def one(sql: str) -> tuple[object, ...]:
        row = con.execute(sql).fetchone()
        assert row is not None
        return row

    assert one("select count(*), count(distinct serial) from print_s") == (UNITS, UNITS)
    assert one("select count(*), count(distinct seq) from inspect_s") == (UNITS, UNITS)
    # current packing: replay ADD/DELETE per (parent, child), latest wins
    current = """
        select * from (
            select *, row_number() over (partition by parent_sscc, coalesce(child_serial,
                child_sscc) order by aggregated_at desc) as rn from aggregate_s) where rn = 1
            and action = 'ADD'
    """
    assert one(
        f"select count(*) - count(distinct child_serial) from ({current}) "
        "where child_level = 'item'"
    ) == (0,)
    assert one(
        f"select count(*) from ({current}) c join inspect_s i "
        "on i.expected_serial = c.child_serial where i.outcome = 'fail'"
    ) == (0,)
    assert one(
        f"select count(*) from (select parent_sscc from ({current}) "
        "where parent_level = 'case' group by all having count(*) > 20)"
    ) == (0,)
    # every container the bridge closed has its links and exactly one label, and nothing
    # was labelled that the bridge did not close
    closed = "select sscc from station_s where event = 'closed' and sscc is not null"
    assert (
        one(f"select count(*), count(distinct sscc) from ({closed})")[0]
        == one("select count(distinct parent_sscc) from aggregate_s")[0]
    )
    assert one(
        "select count(*), count(distinct sscc) from station_s where event = 'labelled'"
    ) == one(f"select count(*), count(*) from ({closed})")
    assert one(
        f"select count(*) from station_s where event = 'labelled' and sscc not in ({closed})"
    ) == (0,)
    journal = home.raw_line / "_journal" / f"work_order={WO}"
    for stream in ("print", "inspect", "reject", "aggregate", "station"):
        lines = sum(1 for x in (journal / f"{stream}.jsonl").read_bytes().splitlines() if x.strip())
        assert one(f"select count(*) from {stream}_s")[0] == lines, stream
