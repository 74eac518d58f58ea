"""Read-only queries of the warehouse for the dashboards (marts only, never the raw zone)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from dashboards import timing
from serialtrace.errors import SerialtraceError, ValidationError

REJECT_CAUSES = (
    "wrong_data",
    "unreadable",
    "low_grade",
    "timeout",
    "duplicate",
    "in_flight_at_stop",
)
GRADES = ("grade_a", "grade_b", "grade_c", "grade_d", "grade_f")
PAGE_SIZE = 200


# the read-only connections of the current page run (None: outside a page run)
_RUN_CONNECTIONS: ContextVar[dict[str, duckdb.DuckDBPyConnection] | None] = ContextVar(
    "dashboards_run_connections", default=None
)


@contextmanager
def one_connection_per_run() -> Iterator[None]:
    """Within the block (one run of a page script), the queries of a warehouse share one
    read-only connection, opened on the first query and closed when the block ends:
    nothing holds the warehouse between runs, so a build can write it."""
    if _RUN_CONNECTIONS.get() is not None:  # already in a run: its connection serves
        yield
        return
    opened: dict[str, duckdb.DuckDBPyConnection] = {}
    token = _RUN_CONNECTIONS.set(opened)
    try:
        yield
    finally:
        _RUN_CONNECTIONS.reset(token)
        for con in opened.values():
            con.close()


@contextmanager
def connect(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to ``warehouse``: the page run's own (see
    :func:`one_connection_per_run`), else one for this call only."""
    opened = _RUN_CONNECTIONS.get()
    if opened is None:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            yield con
        return
    key = str(warehouse)
    if key not in opened:
        with timing.query("connect"):
            opened[key] = duckdb.connect(key, read_only=True)
    yield opened[key]


def _frame(warehouse: Path, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
    with connect(warehouse) as con, timing.query(timing.query_label(sql)):
        table = con.sql(sql, params=params or []).to_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


@dataclass(frozen=True)
class Page:
    """One page of a query's rows, cut in SQL (LIMIT/OFFSET), never loaded whole."""

    rows: pl.DataFrame
    total: int  # rows of the whole query
    number: int  # 1-based page number actually shown (clamped to the last page)
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_row(self) -> int:
        return 0 if self.total == 0 else (self.number - 1) * self.size + 1

    @property
    def last_row(self) -> int:
        return min(self.total, self.number * self.size)


def page_of(
    warehouse: Path,
    sql: str,
    params: list[Any] | None = None,
    number: int = 1,
    size: int = PAGE_SIZE,
) -> Page:
    """Page ``number`` (1-based) of ``sql``, whose ORDER BY must make the order total."""
    if size < 1:
        raise ValidationError("page size", "must be at least 1")
    with connect(warehouse) as con:
        with timing.query(timing.query_label(f"count(*) of {sql}")):
            counted = con.sql(f"select count(*) from ({sql}) as q", params=params or [])
            total = int(counted.fetchall()[0][0])
        last = max(1, -(-total // size))
        number = min(max(1, number), last)
        with timing.query(timing.query_label(f"page {number} of {sql}")):
            table = con.sql(
                f"{sql} limit {int(size)} offset {int((number - 1) * size)}", params=params or []
            ).to_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return Page(frame, total, number, size)


def batch_status_counts(warehouse: Path, work_order_id: str) -> dict[str, int]:
    """Serials of one batch per current status, largest first."""
    frame = _frame(
        warehouse,
        "select status, count(*) as units from serial_lifecycle where work_order_id = ? "
        "group by status order by units desc, status",
        [work_order_id],
    )
    return {str(r["status"]): int(r["units"]) for r in frame.iter_rows(named=True)}


def batch_serials_sql(status: str | None) -> tuple[str, list[Any]]:
    """The serials of one batch (one parameter: the work order), optionally of one status."""
    sql = (
        "select serial, status, status_reason, case_sscc, pallet_sscc, printed_at "
        "from serial_lifecycle where work_order_id = ?"
    )
    if status:
        return sql + " and status = ? order by serial", [status]
    return sql + " order by serial", []


def batch_quality(warehouse: Path) -> pl.DataFrame:
    """One row per batch, newest first (mart ``batch_quality``)."""
    return _frame(
        warehouse,
        "select b.*, w.product_name from batch_quality b "
        "left join dim_work_orders w using (work_order_id) "
        "order by b.first_print_at desc nulls last",
    )


def reject_causes(batch: dict[str, Any]) -> pl.DataFrame:
    """Rejects of one batch by cause, largest first (a Pareto)."""
    rows = [(cause, int(batch.get(cause) or 0)) for cause in REJECT_CAUSES]
    frame = pl.DataFrame(rows, schema=["cause", "units"], orient="row")
    return frame.filter(pl.col("units") > 0).sort("units", descending=True)


def grade_distribution(batch: dict[str, Any]) -> pl.DataFrame:
    rows = [(g[-1].upper(), int(batch.get(g) or 0)) for g in GRADES]
    return pl.DataFrame(rows, schema=["grade", "units"], orient="row")


#: Buckets the throughput chart aims at over a batch's print span.
THROUGHPUT_BUCKETS = 40


def throughput_sql(buckets: int = THROUGHPUT_BUCKETS) -> str:
    """Units printed per minute over time: the batch's print span cut into about
    ``buckets`` equal buckets (at least 1 ms each), so a batch printed in seconds and one
    printed over hours both draw a curve. Parameter: the work order id."""
    return (
        "with printed as (select epoch_ms(printed_at) as ms from serial_lifecycle "
        "where work_order_id = ? and printed_at is not null), "
        "span as (select min(ms) as t0, "
        f"greatest(1, ceil((max(ms) - min(ms) + 1) / {int(buckets)}.0))::bigint as width "
        "from printed) "
        "select make_timestamp(((span.t0 + (printed.ms - span.t0) // span.width * span.width) "
        "* 1000)::bigint) as bucket_start, "
        "count(*) * 60000.0 / any_value(span.width) as units_per_minute "
        "from printed, span group by all order by bucket_start"
    )


def throughput(warehouse: Path, work_order_id: str) -> pl.DataFrame:
    """Units printed per minute over time (see :func:`throughput_sql`)."""
    return _frame(warehouse, throughput_sql(), [work_order_id])


def reconciliation(warehouse: Path) -> pl.DataFrame:
    """Per batch: ERP planned quantity vs allocated, printed, commissioned, rejected,
    decommissioned, shipped, with every discrepancy spelled out (mart
    ``erp_reconciliation``)."""
    frame = _frame(warehouse, "select * from erp_reconciliation order by work_order_id desc")
    return frame.with_columns((pl.col("reconciliation_status") == "reconciled").alias("reconciles"))


@dataclass(frozen=True)
class SerialView:
    gtin: str
    serial: str
    lifecycle: dict[str, Any]
    history: pl.DataFrame
    case: str | None
    pallet: str | None
    case_items: pl.DataFrame
    pallet_cases: pl.DataFrame


def resolve_identifier(text: str) -> tuple[str, str]:
    """(GTIN-14, serial) from any form a person may type or scan: a GS1 element string
    (with or without ]d2 / FNC1 / GS), the bracketed HRI, a GS1 Digital Link URI, an SGTIN
    EPC URI, or "GTIN SERIAL"."""
    from serialtrace.gs1.digital_link import parse_digital_link
    from serialtrace.gs1.element_string import parse
    from serialtrace.gs1.epc import parse_epc_uri
    from serialtrace.gs1.keys import normalize_gtin

    value = text.strip()
    if not value:
        raise ValidationError("identifier", "type or scan an identifier")
    if value.startswith("urn:epc:id:sgtin:"):
        epc = parse_epc_uri(value)
        if epc.gtin and epc.serial:
            return epc.gtin, epc.serial
    if value.startswith(("http://", "https://")):
        parsed = parse_digital_link(value)
    elif " " in value and value.split()[0].isdigit() and not value.startswith("("):
        gtin, serial = value.split(None, 1)
        return normalize_gtin(gtin), serial.strip()
    else:
        parsed = parse(value)
    if not parsed.gtin or not parsed.serial:
        raise ValidationError("identifier", "needs a GTIN (01) and a serial (21)")
    return parsed.gtin, parsed.serial


# the rows of one serial (any GTIN); its one-column filter is served by the mart's index
SERIAL_LOOKUP_SQL = "select * from serial_lifecycle where serial = ?"


# the links under one container; its one-column filter is served by the mart's index
CHILDREN_SQL = (
    "select parent_sscc, child_level, child_serial, child_sscc, aggregated_at "
    "from aggregation_hierarchy where parent_sscc = ?"
)


#: What the lifecycle table of a serial shows (mart ``serial_status_history``).
HISTORY_COLUMNS = (
    "occurred_at, from_status, to_status, reason, origin, scope, scope_id, recorded_by"
)

# whether a lookup `where serial = ?` of the status history is served by an index: the
# history is a view over serial_lifecycle, itself a view over int_serials_line_status,
# which has the one-column index on serial (docs/warehouse.md), or a history table has
# such an index itself (an older warehouse with the history as a table and no index
# answers 0: the lookup then filters on GTIN, serial and work order, whose zone maps skip
# most row groups of a scan)
HISTORY_INDEX_SQL = (
    "select (select count(*) from duckdb_indexes() "
    "where table_name = 'serial_status_history' and expressions = '[serial]') "
    "+ (select count(*) from duckdb_views() "
    "where view_name = 'serial_status_history' and not internal) "
    "* (select count(*) from duckdb_indexes() where table_name in "
    "('serial_lifecycle', 'int_serials_line_status') and expressions = '[serial]')"
)


def history_sql(*, indexed: bool, with_work_order: bool) -> str:
    """The status history of one serial, in order. With an index (HISTORY_INDEX_SQL):
    ``where serial = ?`` alone (DuckDB serves a one-column equality from it, through the
    view down to serial_lifecycle's scan; the GTIN, first column, is checked by the
    caller). Without: the GTIN, the serial and, when known, the work order, whose
    zone maps let DuckDB skip most row groups of a scan."""
    if indexed:
        return (
            f"select gtin, {HISTORY_COLUMNS} from serial_status_history "
            "where serial = ? order by transition_seq"
        )
    return (
        f"select {HISTORY_COLUMNS} from serial_status_history where gtin = ? and serial = ? "
        + ("and work_order_id = ? " if with_work_order else "")
        + "order by transition_seq"
    )


def _history(warehouse: Path, gtin: str, serial: str, work_order: Any) -> pl.DataFrame:
    with connect(warehouse) as con, timing.query("history index?"):
        indexed = bool(con.sql(HISTORY_INDEX_SQL).fetchall()[0][0])
    if indexed:
        rows = _frame(warehouse, history_sql(indexed=True, with_work_order=False), [serial])
        return rows.filter(pl.col("gtin") == gtin).drop("gtin")
    with_work_order = work_order is not None
    return _frame(
        warehouse,
        history_sql(indexed=False, with_work_order=with_work_order),
        [gtin, serial] + ([work_order] if with_work_order else []),
    )


def _children(warehouse: Path, parents: list[str]) -> pl.DataFrame:
    """The links under each of ``parents``, one index lookup each (an ``in`` list or a
    second condition would make DuckDB scan the table)."""
    with connect(warehouse) as con, timing.query(timing.query_label(CHILDREN_SQL)):
        # no container: the lookup of an SSCC that has no links, for the columns alone
        tables = [con.sql(CHILDREN_SQL, params=[s]).to_arrow_table() for s in parents or [""]]
    return pl.concat([pl.DataFrame(pl.from_arrow(table)) for table in tables])


def serial_view(warehouse: Path, gtin: str, serial: str) -> SerialView:
    with one_connection_per_run():  # its four queries share one connection
        return _serial_view(warehouse, gtin, serial)


def _serial_view(warehouse: Path, gtin: str, serial: str) -> SerialView:
    # the filter names the serial alone: DuckDB answers a one-column equality from the
    # mart's index on serial (transforms/macros/lookup_index.sql) but scans the whole
    # table for a filter on two columns; the GTIN is checked on the few rows found
    with connect(warehouse) as con, timing.query(timing.query_label(SERIAL_LOOKUP_SQL)):
        cursor = con.execute(SERIAL_LOOKUP_SQL, [serial])
        names = [d[0] for d in cursor.description or []]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    found = [row for row in rows if row["gtin"] == gtin]
    if not found:
        raise SerialtraceError(f"serial {serial} of GTIN {gtin} is not in the warehouse")
    lifecycle = found[0]
    case, pallet = lifecycle.get("case_sscc"), lifecycle.get("pallet_sscc")
    # without an index on its serial, a serial's transitions are found by a scan whose
    # zone maps on the work order (they all carry it) skip the other batches' row groups
    history = _history(warehouse, gtin, serial, lifecycle.get("work_order_id"))
    children = _children(warehouse, [str(c) for c in (case, pallet) if c])
    case_items = (
        children.filter((pl.col("parent_sscc") == case) & (pl.col("child_level") == "item"))
        .select(pl.col("child_serial").alias("serial"), "aggregated_at")
        .sort("serial")
    )
    pallet_cases = (
        children.filter((pl.col("parent_sscc") == pallet) & (pl.col("child_level") == "case"))
        .select(pl.col("child_sscc").alias("sscc"), "aggregated_at")
        .sort("sscc")
    )
    return SerialView(gtin, serial, lifecycle, history, case, pallet, case_items, pallet_cases)


def epcis_files(outbox: Path, work_order_id: str) -> list[Path]:
    """EPCIS documents in the outbox that carry the batch (batch document + decommissions)."""
    found = sorted((outbox / work_order_id).glob("*.xml"))
    return found


def verification_totals(warehouse: Path) -> tuple[dict[str, Any] | None, pl.DataFrame]:
    """Totals of the telemetry mart (None when no query was logged) and the incoming
    not-verified answers by reason, largest first."""
    totals = _frame(
        warehouse,
        "select sum(queries)::bigint as queries, sum(verified_answers)::bigint as verified, "
        "sum(not_verified_answers)::bigint as not_verified, "
        "sum(failed_authentications)::bigint as failed_authentications, "
        "max(latency_ms_p99) as latency_ms_p99 from verification_telemetry "
        "where direction = 'incoming'",
    )
    row = totals.row(0, named=True)
    if not row["queries"]:
        return None, pl.DataFrame()
    reasons = _frame(
        warehouse,
        "select reason_code as reason, sum(not_verified_answers)::bigint as answers "
        "from verification_telemetry where direction = 'incoming' and not_verified_answers > 0 "
        "group by reason_code order by answers desc, reason",
    )
    return {k: (v or 0) for k, v in row.items()}, reasons


def verification_log_sql(
    direction: str | None, *, only_not_verified: bool = False
) -> tuple[str, list[Any]]:
    """The query log (stg_verification__queries), newest first, for :func:`page_of`."""
    where, params = [], []
    if direction:
        where.append("direction = ?")
        params.append(direction)
    if only_not_verified:
        where.append("verified = false")
    sql = (
        "select logged_at, direction, coalesce(requestor_partner, requestor_gln) as requestor, "
        "request_form, gtin, serial, lot, outcome, verified, reason_code, additional_info, "
        "http_status, error_field, round(latency_us / 1000.0, 2) as latency_ms, query_id "
        "from stg_verification__queries"
    )
    if where:
        sql += " where " + " and ".join(where)
    return sql + " order by logged_at desc, query_id", params


def partner_scorecard(warehouse: Path) -> pl.DataFrame:
    """One row per trading partner (mart ``partner_scorecard``); empty when the warehouse
    has no such mart yet."""
    with connect(warehouse) as con:
        found = con.sql(
            "select count(*) from information_schema.tables where table_name = 'partner_scorecard'"
        ).fetchall()
    if not found[0][0]:
        return pl.DataFrame()
    return _frame(warehouse, "select * from partner_scorecard order by partner_id")


#: The latest deliveries the partners page shows (newest first).
DELIVERIES_SHOWN = 200


def latest_deliveries(ledger: Path, limit: int = DELIVERIES_SHOWN) -> pl.DataFrame:
    """The newest ``limit`` deliveries of the partner delivery ledger (read-only), with
    their acknowledgement status."""
    import sqlite3

    with timing.query("deliveries (ledger)"):
        ledger_con = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
        try:
            cursor = ledger_con.execute(
                "select partner_id, direction, transport, file_name, status, attempts, "
                "message_id, sent_at, acknowledged_at, ack_kind, "
                "coalesce(ack_detail, failure_reason) as detail "
                "from deliveries order by delivery_id desc limit ?",
                [int(limit)],
            )
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        finally:
            ledger_con.close()
    return pl.DataFrame(rows, schema=names, orient="row")
