from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from epcis.inbound import ingest_file
from partners.export import DELIVERY_SCHEMA, deliveries_snapshot_path, export_deliveries
from partners.ledger import DeliveryLedger, utcnow
from serialtrace.settings import Home, conformance_dir
from tests.transforms.dbt_harness import run_dbt


def test_ledger_snapshot_feeds_the_partner_scorecard(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    now = utcnow()
    with DeliveryLedger(home.partners_ledger) as ledger:
        on_time = ledger.enqueue("acme", "sftp", "a.xml", "a.xml", "h1", 10, now=now)
        ledger.begin_attempt(on_time.message_id, now)
        ledger.mark_sent(on_time.message_id, timedelta(minutes=30), now=now)
        ledger.acknowledge(on_time.message_id, "sftp-verified", "ok")
        overdue = ledger.enqueue("acme", "sftp", "b.xml", "b.xml", "h2", 10, now=now)
        ledger.begin_attempt(overdue.message_id, now - timedelta(hours=2))
        ledger.mark_sent(overdue.message_id, timedelta(minutes=30), now=now - timedelta(hours=2))
        failed = ledger.enqueue("beta", "as2", "a.xml", "a.xml", "h1", 10, now=now)
        ledger.begin_attempt(failed.message_id, now)
        ledger.attempt_failed(failed.message_id, "down", None, now)
        ledger.record_inbound("beta", "as2", "epcis/inbox/beta/x.xml", "x.xml", "h9", 5)
    # one EPCIS file from beta went through the inbound stage (tolerant): it counts too
    example = conformance_dir() / "examples" / "gs1-epcis-1.2" / "xml" / "ObjectEvent.xml"
    ingest_file(home, example, partner_id="beta", policy="tolerant")
    path = export_deliveries(home)
    assert path == deliveries_snapshot_path(home)
    assert pq.read_schema(path).equals(DELIVERY_SCHEMA, check_metadata=False)

    warehouse = tmp_path / "warehouse.duckdb"
    run = run_dbt(
        # cautious: a partial build runs the tests whose parents it all builds (eager would
        # add e.g. the inbound events' relationships test on the inbound files, a parent of
        # the scorecard, without building the events)
        ["build", "--select", "+partner_scorecard+", "--indirect-selection", "cautious"],
        raw_dir=home.raw,
        warehouse=warehouse,
        work_dir=tmp_path / "dbt",
    )
    assert run.success, run.failed
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select partner_id, files_sent, files_acknowledged, files_failed, files_pending,"
            " acks_on_time, acks_overdue, files_received from partner_scorecard order by 1"
        ).fetchall()
        inbound = con.execute(
            "select partner_id, inbound_files_loaded, inbound_files_schema_valid,"
            " inbound_deviations, pct_inbound_schema_valid, inbound_files_masterdata_complete"
            " from partner_scorecard order by 1"
        ).fetchall()
    assert rows == [("acme", 2, 1, 0, 1, 1, 1, 0), ("beta", 1, 0, 1, 0, 0, 0, 1)]
    # the example is schema-valid and carries no master data in its header
    assert inbound == [("acme", 0, 0, 0, None, 0), ("beta", 1, 1, 0, 100.0, 0)]
