"""The folded key and column checks of the batch models (tests/generic/batch_checks.sql):
each rule they replaced (not_null, unique, unique combination, accepted_values,
relationships, valid_gs1_key) still fails, and names itself.

The SQL run is the one the session build compiled for the test, executed on a copy of
that warehouse in which one model's rows break one rule each.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt_harness import BuiltWarehouse


def _failures(warehouse: Path, sql: str) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: rows for name, rows, _ in con.execute(sql).fetchall()}


def _row(table: str, offset: int) -> str:
    """A predicate picking one row of ``table`` (a different one per offset)."""
    return f"rowid = (select rowid from {table} order by rowid limit 1 offset {offset})"


# serial_lifecycle is a view: its rows are broken in the line-status table under it
SL = "int_serials_line_status"
AGG = "stg_line__aggregations"
AH = "aggregation_hierarchy"
AH_NOT_NULL = (
    "child_key",
    "parent_sscc",
    "parent_level",
    "child_level",
    "case_sscc",
    "work_order_id",
    "aggregated_at",
)
ST = "stg_line_ops__stations"
LE = "stg_lifecycle__events"


def _view_as_table(view: str) -> list[str]:
    """Statements turning a staging view over the raw Parquet into a table of the same
    name and rows, so rows can be added or changed."""
    return [
        f"create table {view}_copy as select * from {view}",
        f"drop view {view}",
        f"alter table {view}_copy rename to {view}",
    ]


def _station(event: str, container_no: int | None, sscc: str | None) -> str:
    no = "null" if container_no is None else str(container_no)
    code = "null" if sscc is None else f"'{sscc}'"
    return (
        f"insert into {ST} by name select 'WO-T' as work_order_id, "
        "'WO-T' as recorded_work_order_id, 'L1' as line_id, "
        f"'S1' as station_id, 'case' as container_level, '{event}' as station_event, "
        f"{no} as station_container_no, {code} as sscc, "
        "timestamp '2026-01-01 00:00:00' as recorded_at"
    )


def _event(event_id: str, scope: str) -> str:
    return (
        f"insert into {LE} by name select '{event_id}' as event_id, 'r1' as request_id, "
        "'(01)00614141000111(21)S1' as unit_key, '00614141000111' as gtin, 'S1' as serial, "
        "'WO-T' as work_order_id, 'printed' as from_status, 'decommissioned' as to_status, "
        f"'destroyed' as reason, '{scope}' as scope, 'x' as scope_id, 'qa' as recorded_by, "
        "'cli' as event_source, timestamp '2026-01-01 00:00:00' as occurred_at, "
        "timestamp '2026-01-01 00:00:00' as recorded_at"
    )


def _shipped(table: str, shipment: str, key: str, kind: str, filled: str | None) -> str:
    """A row of shipments (``kind``: identifier_level) or shipment_receipts (``kind``:
    confirmed_through) with its keys, and the one column ``filled`` set (the buyer's
    GLN, or `received`); every other column null."""
    level = "identifier_level" if table == "shipments" else "confirmed_through"
    values = {
        "shipment_id": f"'{shipment}'",
        "identifier_key": f"'{key}'",
        "shipped_sscc": "'000000000000000017'",
        level: f"'{kind}'",
    }
    if filled == "destination_party_gln":
        values[filled] = "'0614141000005'"
    elif filled == "received":
        values[filled] = "true"
    columns = ", ".join(f"{value} as {column}" for column, value in values.items())
    return f"insert into {table} by name select {columns}"


def _replayed(event_id: str, is_applied: str) -> str:
    return (
        "insert into int_lifecycle_events_replayed by name select "
        f"'{event_id}' as event_id, '(01)00614141000111(21)S1' as unit_key, "
        f"'WO-1001' as work_order_id, 1 as event_order, {is_applied} as is_applied"
    )


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
                # the line status, which the view shows as status and line_status
                f"update {SL} set status = 'lost' where {_row(SL, 2)}",
                f"update {SL} set gtin = '00000000000017' where {_row(SL, 3)}",
            ],
            {
                "unique(gtin, serial)": 1,
                "unique(unit_key)": 1,
                "not_null(lot)": 1,
                "accepted_values(status)": 1,
                "accepted_values(line_status)": 1,
                "relationships(gtin -> dim_products.gtin)": 1,
                # the GTIN changed under the unit's key
                "expression(unit_key = '(01)' || gtin || '(21)' || serial)": 1,
            },
        ),
        (
            "batch_checks_stg_line__aggregations",
            [
                # the view over the raw Parquet becomes a table that can be changed
                *_view_as_table(AGG),
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
            "batch_checks_aggregation_hierarchy",
            [
                f"drop index {AH}__parent_sscc_idx",  # rows change freely, rowids stay
                # an item in a second case no container has (the item in two parents is
                # assert_no_child_in_two_parents's, below)
                f"insert into {AH} select * replace ('000000000000000017' as parent_sscc) "
                f"from {AH} where {_row(AH, 1)}",
                # one null in each column that must have a value
                *(
                    f"update {AH} set {column} = null where {_row(AH, offset)}"
                    for offset, column in enumerate(AH_NOT_NULL, start=2)
                ),
                f"update {AH} set parent_level = 'crate' where {_row(AH, 9)}",
                f"update {AH} set child_level = 'box' where {_row(AH, 10)}",
                f"update {AH} set work_order_id = 'WO-0000' where {_row(AH, 11)}",
            ],
            {
                "relationships(parent_sscc -> containers.sscc)": 1,
                **{f"not_null({column})": 1 for column in AH_NOT_NULL},
                "accepted_values(parent_level)": 1,
                "accepted_values(child_level)": 1,
                "relationships(work_order_id -> dim_work_orders.work_order_id)": 1,
            },
        ),
        (
            # the rules limited by a `where` fail only on the rows they are about
            "batch_checks_stg_line_ops__stations",
            [
                *_view_as_table(ST),
                # one SSCC labelled twice
                _station("labelled", None, "000000000000000017"),
                _station("labelled", None, "000000000000000017"),
                # a closed container without its number (a label has none: not counted)
                _station("closed", None, None),
                # a refusal without a reason (a closed one needs none), both of container
                # 5: closed or refused twice
                _station("refused", 5, None),
                _station("closed", 5, None),
                # a scan of a code that is no SSCC
                _station("scan", 6, "000000000000000018"),
                # a row in the folder of one work order that names another
                f"update {ST} set recorded_work_order_id = 'WO-0000' where {_row(ST, 0)}",
            ],
            {
                "not_null(station_container_no) where station_event in "
                "('scan', 'closed', 'refused', 'diverted')": 1,
                "not_null(reason) where station_event in "
                "('refused', 'label_failed', 'case_rejected')": 1,
                "unique(work_order_id, station_id, station_container_no) where station_event "
                "in ('closed', 'refused')": 1,
                "unique(work_order_id, sscc) where station_event = 'labelled'": 1,
                "expression(recorded_work_order_id = work_order_id)": 1,
                "valid_gs1_key(sscc, 18)": 1,
            },
        ),
        (
            "batch_checks_stg_lifecycle__events",
            [
                # (a table: no view to replace) an event id twice, a scope nobody writes
                _event("e1", "serial"),
                _event("e1", "serial"),
                _event("e2", "galaxy"),
            ],
            {"unique(event_id)": 1, "accepted_values(scope)": 1},
        ),
        (
            # a work order twice, once without a fingerprint
            "batch_checks_batch_build_log",
            [
                "insert into batch_build_log by name select work_order_id, "
                "null as fingerprint from batch_build_log "
                f"where {_row('batch_build_log', 0)}"
            ],
            {"unique(work_order_id)": 1, "not_null(fingerprint)": 1},
        ),
        (
            "batch_checks_int_batch_fingerprints",
            [
                "insert into int_batch_fingerprints by name select work_order_id, "
                "null as is_changed from int_batch_fingerprints "
                f"where {_row('int_batch_fingerprints', 0)}"
            ],
            {"unique(work_order_id)": 1, "not_null(is_changed)": 1},
        ),
        (
            # rebuilt whole on every run (batch_column null): checked whole
            "batch_checks_erp_reconciliation",
            [
                "insert into erp_reconciliation select * from erp_reconciliation "
                f"where {_row('erp_reconciliation', 0)}",
                "update erp_reconciliation set erp_planned_quantity = null, "
                f"reconciliation_status = 'maybe' where {_row('erp_reconciliation', 1)}",
                "update erp_reconciliation set work_order_id = 'WO-0000' "
                f"where {_row('erp_reconciliation', 2)}",
            ],
            {
                "unique(work_order_id)": 1,
                "not_null(erp_planned_quantity)": 1,
                "accepted_values(reconciliation_status)": 1,
                "relationships(work_order_id -> dim_work_orders.work_order_id)": 1,
            },
        ),
        (
            "batch_checks_int_work_order_serial_counts",
            [
                "insert into int_work_order_serial_counts select * from "
                f"int_work_order_serial_counts where {_row('int_work_order_serial_counts', 0)}",
                "update int_work_order_serial_counts set shipped = null "
                f"where {_row('int_work_order_serial_counts', 1)}",
                "update int_work_order_serial_counts set work_order_id = 'WO-0000' "
                f"where {_row('int_work_order_serial_counts', 2)}",
            ],
            {
                "unique(work_order_id)": 1,
                "not_null(shipped)": 1,
                "relationships(work_order_id -> dim_work_orders.work_order_id)": 1,
            },
        ),
        (
            "batch_checks_batch_master_data_at_packaging",
            [
                "insert into batch_master_data_at_packaging by name select null as "
                "work_order_id from batch_master_data_at_packaging "
                f"where {_row('batch_master_data_at_packaging', 0)}",
                "insert into batch_master_data_at_packaging select * from "
                "batch_master_data_at_packaging "
                f"where {_row('batch_master_data_at_packaging', 1)}",
            ],
            {"unique(work_order_id)": 1, "not_null(work_order_id)": 1},
        ),
        (
            # (the demo builds no shipment yet: rows are added) an identifier twice in
            # one shipment, one without its buyer and at a level nobody ships
            "batch_checks_shipments",
            [
                _shipped("shipments", "SH1", "(00)1", "pallet", "destination_party_gln"),
                _shipped("shipments", "SH1", "(00)1", "pallet", "destination_party_gln"),
                _shipped("shipments", "SH2", "(00)2", "crate", None),
            ],
            {
                "unique(shipment_id, identifier_key)": 1,
                "not_null(destination_party_gln)": 1,
                "accepted_values(identifier_level)": 1,
            },
        ),
        (
            "batch_checks_shipment_receipts",
            [
                _shipped("shipment_receipts", "SH1", "(00)1", "itself", "received"),
                _shipped("shipment_receipts", "SH1", "(00)1", "itself", "received"),
                _shipped("shipment_receipts", "SH2", "(00)2", "rumour", None),
            ],
            {
                "unique(shipment_id, identifier_key)": 1,
                "not_null(received)": 1,
                "accepted_values(confirmed_through)": 1,
            },
        ),
        (
            # an event replayed twice, one without its verdict
            "batch_checks_int_lifecycle_events_replayed",
            [_replayed("e1", "true"), _replayed("e1", "true"), _replayed("e2", "null")],
            {"unique(event_id)": 1, "not_null(is_applied)": 1},
        ),
    ],
    ids=[
        "serial-lifecycle",
        "aggregation-stream",
        "aggregation-hierarchy",
        "stations",
        "lifecycle",
        "build-log",
        "fingerprints",
        "erp-reconciliation",
        "serial-counts",
        "master-data-at-packaging",
        "shipments",
        "shipment-receipts",
        "lifecycle-replayed",
    ],
)
def test_each_folded_rule_fails_and_names_itself(
    built_warehouse: BuiltWarehouse,
    tmp_path: Path,
    test_name: str,
    breakage: list[str],
    expected: dict[str, int],
) -> None:
    sql = built_warehouse.compiled(test_name)
    assert _failures(built_warehouse.path, sql) == {}  # the built warehouse passes
    broken = built_warehouse.broken_copy(tmp_path, breakage)
    assert _failures(broken, sql) == expected


def test_the_hierarchy_key_is_unique_through_the_two_parents_invariant(
    built_warehouse: BuiltWarehouse, tmp_path: Path
) -> None:
    """batch_checks_aggregation_hierarchy leaves child_key's uniqueness to the invariant
    assert_no_child_in_two_parents (the same rule, checked once): a (parent, child) link
    twice and an item in a second case both fail it, each with its child."""
    sql = built_warehouse.compiled("assert_no_child_in_two_parents")
    twice, moved = _row(AH, 0), _row(AH, 1)
    with duckdb.connect(str(built_warehouse.path), read_only=True) as con:
        assert con.execute(sql).fetchall() == []
        children = [
            con.execute(f"select child_key from {AH} where {row}").fetchone()
            for row in (twice, moved)
        ]
    broken = built_warehouse.broken_copy(
        tmp_path,
        [
            f"drop index {AH}__parent_sscc_idx",
            f"insert into {AH} select * from {AH} where {twice}",
            f"insert into {AH} select * replace ('000000000000000017' as parent_sscc) "
            f"from {AH} where {moved}",
        ],
    )
    with duckdb.connect(str(broken), read_only=True) as con:
        failing = con.execute(f"select child_key, current_parents from ({sql}) order by 1")
        assert failing.fetchall() == sorted((child[0], 2) for child in children if child)
