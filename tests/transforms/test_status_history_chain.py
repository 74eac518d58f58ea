"""The invariant assert_status_history_is_a_chain over the serial_status_history view:
each way a history can break is found and named (tests/assert_status_history_is_a_chain.sql).

The history is derived from serial_lifecycle (the line's steps) and
int_status_changes_replayed (rework and lifecycle events), so the breakages are made
there, on a copy of the session build's warehouse; the SQL run is the one the build
compiled for the invariant.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt_harness import BuiltWarehouse

# serial_lifecycle is a view: a serial's status is changed in the line-status table
SL = "int_serials_line_status"
REPLAYED = "int_status_changes_replayed"
TEST = "assert_status_history_is_a_chain"


def _problems(warehouse: Path, sql: str) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {str(row[2]) for row in con.execute(sql).fetchall()}


# a serial the line alone touched: passed and packed once (no replayed change)
PACKED_ONCE = (
    f"unit_key = (select min(unit_key) from {SL} where status = 'aggregated' "
    f"and unit_key not in (select unit_key from {REPLAYED}))"
)
# the replayed case changes of the reworked item with the most of them, by position
REWORKED = (
    f"unit_key = (select unit_key from {REPLAYED} where origin = 'line' "
    "group by unit_key order by count(*) desc, unit_key limit 1)"
)


def _reworked_row(position: str) -> str:
    return (
        f"{REWORKED} and transition_seq = (select {position}(transition_seq) "
        f"from {REPLAYED} where {REWORKED})"
    )


# a lifecycle event appended to the reworked item's history (it ends there then)
EVENT_ROW = (
    f"insert into {REPLAYED} by name select * replace ("
    "transition_seq + 1 as transition_seq, to_status as from_status, "
    "'decommissioned' as to_status, 'destroyed' as reason, 'cli' as origin, "
    "'serial' as scope, 'E-1' as event_id) "
    f"from {REPLAYED} where {_reworked_row('max')}"
)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        # the line's steps of a serial
        (
            [f"update {SL} set status = 'commissioned' where {PACKED_ONCE}"],
            {"does not end at the current status"},
        ),
        (
            [f"update {SL} set seq = null where {PACKED_ONCE}"],
            {"has a verdict of the camera but was never printed"},
        ),
        # the replayed changes of a reworked item
        (
            [
                f"delete from {REPLAYED} where {REWORKED} and transition_seq = "
                f"(select min(transition_seq) + 1 from {REPLAYED} where {REWORKED})"
            ],
            {"does not start where the previous change ended"},
        ),
        (
            [f"update {REPLAYED} set to_status = 'printed' where {_reworked_row('max')}"],
            {"not a legal change", "does not end at the current status"},
        ),
        (
            [
                f"update {REPLAYED} set transition_seq = transition_seq - 1 "
                f"where {_reworked_row('max')}"
            ],
            {"repeats the position of the previous change"},
        ),
        (
            [f"update {REPLAYED} set origin = 'robot' where {_reworked_row('max')}"],
            {"origin is not an origin"},
        ),
        (
            [f"update {REPLAYED} set gtin = null where {_reworked_row('max')}"],
            {"has no gtin"},
        ),
        # a lifecycle event: the serial's status must follow it; an event counted twice
        (
            [EVENT_ROW],
            {"does not end at the current status"},
        ),
        (
            [
                EVENT_ROW,
                f"update {SL} set status = 'decommissioned' where {REWORKED}",
                f"insert into {REPLAYED} by name select * replace "
                "(transition_seq + 1 as transition_seq, to_status as from_status) "
                f"from {REPLAYED} where event_id = 'E-1'",
            ],
            {"is one of several changes of lifecycle event E-1"},
        ),
        # a replayed change of a serial that is not in serial_lifecycle
        (
            [f"delete from {SL} where {REWORKED}"],
            {"is the history of a serial not in serial_lifecycle"},
        ),
    ],
    ids=[
        "line-status-not-reached",
        "verdict-without-print",
        "replayed-change-missing",
        "illegal-change",
        "position-repeated",
        "unknown-origin",
        "missing-column",
        "event-not-applied-to-status",
        "event-twice",
        "history-without-serial",
    ],
)
def test_each_broken_history_is_found_and_named(
    built_warehouse: BuiltWarehouse,
    tmp_path: Path,
    breakage: list[str],
    expected: set[str],
) -> None:
    sql = built_warehouse.compiled(TEST)
    assert _problems(built_warehouse.path, sql) == set()  # the built warehouse passes
    with duckdb.connect(str(built_warehouse.path), read_only=True) as con:
        (changes,) = con.execute(f"select count(*) from {REPLAYED} where {REWORKED}").fetchone()
        assert changes >= 3  # the demo zone reworks an item: packed, taken out, packed
    copy = built_warehouse.broken_copy(tmp_path, breakage)
    # what the breakage must raise (a breakage may raise more: a repeated position, say,
    # also leaves a change that does not start where its neighbour ended)
    assert expected <= _problems(copy, sql)
