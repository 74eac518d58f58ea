"""The folded key and column checks of the batch models (tests/generic/batch_checks.sql):
each rule they replaced (not_null, unique, unique combination, accepted_values,
relationships, valid_gs1_key) still fails, and names itself.

The SQL run is the one the session build compiled for the test, executed on a copy of
that warehouse in which one model's rows break one rule each.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from dbt_harness import BuiltWarehouse


def _compiled(built: BuiltWarehouse, test_name: str) -> str:
    (path,) = built.run.target_dir.rglob(f"compiled/**/{test_name}.sql")
    return path.read_text()


def _broken_copy(built: BuiltWarehouse, tmp_path: Path, statements: list[str]) -> Path:
    # same file name: the compiled SQL names the database after it
    copy = tmp_path / built.path.name
    shutil.copyfile(built.path, copy)
    with duckdb.connect(str(copy)) as con:
        for statement in statements:
            con.execute(statement)
    return copy


def _failures(warehouse: Path, sql: str) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: rows for name, rows, _ in con.execute(sql).fetchall()}


def _row(table: str, offset: int) -> str:
    """A predicate picking one row of ``table`` (a different one per offset)."""
    return f"rowid = (select rowid from {table} order by rowid limit 1 offset {offset})"


SL = "serial_lifecycle"
AGG = "stg_line__aggregations"


@pytest.mark.parametrize(
    ("test_name", "breakage", "expected"),
    [
        (
            "batch_checks_serial_lifecycle",
            [
                # a serial twice (both keys), one without lot, one with an unknown status,
                # one whose GTIN is no product
                f"insert into {SL} select * from {SL} where {_row(SL, 0)}",
                f"update {SL} set lot = null where {_row(SL, 1)}",
                f"update {SL} set status = 'lost' where {_row(SL, 2)}",
                f"update {SL} set gtin = '00000000000017' where {_row(SL, 3)}",
            ],
            {
                "unique(gtin, serial)": 1,
                "unique(unit_key)": 1,
                "not_null(lot)": 1,
                "accepted_values(status)": 1,
                "relationships(gtin -> dim_products.gtin)": 1,
            },
        ),
        (
            "batch_checks_stg_line__aggregations",
            [
                # the view over the raw Parquet becomes a table that can be changed
                "create table aggregations_copy as select * from stg_line__aggregations",
                "drop view stg_line__aggregations",
                "alter table aggregations_copy rename to stg_line__aggregations",
                # a wrong check digit, the same wrong SSCC on two more rows (the key is
                # checked once per distinct value, failing_rows still counts rows), an
                # unknown action
                f"update {AGG} set parent_sscc = substr(parent_sscc, 1, 17) "
                "|| cast((cast(substr(parent_sscc, 18, 1) as integer) + 1) % 10 as varchar) "
                f"where {_row(AGG, 0)}",
                f"update {AGG} set parent_sscc = '000000000000000018' where {_row(AGG, 2)}",
                f"update {AGG} set parent_sscc = '000000000000000018' where {_row(AGG, 3)}",
                f"update {AGG} set action = 'MOVE' where {_row(AGG, 1)}",
            ],
            {"valid_gs1_key(parent_sscc, 18)": 3, "accepted_values(action)": 1},
        ),
        (
            "batch_checks_int_aggregation_links_current",
            # an item in a second case: its key twice, the (parent, child) pairs still unique
            [
                "insert into int_aggregation_links_current select * replace "
                "('000000000000000017' as parent_sscc) from int_aggregation_links_current "
                "where child_key = (select min(child_key) from int_aggregation_links_current "
                "where child_level = 'item')"
            ],
            {"unique(child_key)": 1},
        ),
    ],
    ids=["serial-lifecycle", "aggregation-stream", "current-links"],
)
def test_each_folded_rule_fails_and_names_itself(
    built_warehouse: BuiltWarehouse,
    tmp_path: Path,
    test_name: str,
    breakage: list[str],
    expected: dict[str, int],
) -> None:
    sql = _compiled(built_warehouse, test_name)
    assert _failures(built_warehouse.path, sql) == {}  # the built warehouse passes
    broken = _broken_copy(built_warehouse, tmp_path, breakage)
    assert _failures(broken, sql) == expected
