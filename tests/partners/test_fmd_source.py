from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from partners.fmd_source import EuProductData, batch_messages
from serialtrace.cli import main
from serialtrace.errors import SerialtraceError
from serialtrace.settings import Home

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
EU = EuProductData("examplamab", "blister", "MAH-1", atc_codes=("L01XC99",))
HUB = """
[[partner]]
id = "fmd-de"
name = "EU Hub DE"
gln = "0614141000043"
role = "hub"
market = "DE"
epcis_format = "2.0-jsonld"
transaction_history = false
schedule = "*/10 * * * *"

[partner.transport]
kind = "http"
url = "https://127.0.0.1:9/hub"
"""


def _warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table dim_work_orders as select 'WO-1' as work_order_id,"
            " '00312345678906' as gtin, 'LOT1' as lot, date '2028-06-30' as expiry"
        )
        con.execute(
            "create table dim_products as select '00312345678906' as gtin,"
            " 'Demo 10 mg' as product_name, 'tablet' as dosage_form, '10 mg' as strength,"
            " '30' as pack_size, 'Demo Pharma' as manufacturer"
        )
        con.execute(
            "create table serial_lifecycle as select * from (values"
            " ('S1', 'pass', 'aggregated', null),"
            " ('S2', 'pass', 'decommissioned', 'destroyed'),"
            " ('S3', 'pass', 'decommissioned', 'recalled'),"
            " ('S4', 'fail', 'decommissioned', 'rejected_at_line'),"
            " ('S5', 'pass', 'dispensed', null))"
            " t(serial, outcome, status, status_reason)"
        )
        con.execute("alter table serial_lifecycle add column work_order_id varchar default 'WO-1'")
    return path


def test_batch_messages_from_the_warehouse(tmp_path: Path) -> None:
    messages, notes = batch_messages(_warehouse(tmp_path / "w.duckdb"), "WO-1", "DE", EU, NOW)
    master, batch, status = messages
    assert master["product"]["name"] == "Demo 10 mg"
    assert master["marketData"]["mah"] == {"id": "MAH-1", "name": "Demo Pharma"}
    assert batch["batch"]["serialNumbers"] == ["S1", "S2", "S3", "S5"]  # never the line reject
    assert batch["batch"]["expiryDate"] == date(2028, 6, 30).isoformat()
    assert status["packs"] == [
        {"serialNumber": "S2", "state": "DESTROYED"},
        {"serialNumber": "S5", "state": "SUPPLIED"},
    ]
    assert notes == [
        "1 pack(s) recalled: not sent as a pack status (a batch recall is a batch-level Hub "
        "operation)"
    ]
    with pytest.raises(SerialtraceError, match="not in the warehouse"):
        batch_messages(tmp_path / "w.duckdb", "WO-404", "DE", EU, NOW)


def test_fmd_upload_command_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Home(tmp_path / "home").ensure()
    _warehouse(home.warehouse)
    (home.root / "partners.toml").write_text(HUB)
    args = [
        "partners",
        "fmd-upload",
        "fmd-de",
        "--work-order",
        "WO-1",
        "--common-name",
        "x",
        "--pack-type",
        "blister",
        "--mah-id",
        "MAH-1",
        "--home",
        str(home.root),
    ]
    assert main(args) == 0
    first = sorted(p.name for p in (home.epcis_outbox / "fmd-de").iterdir())
    assert first[0] == "BatchPackData-WO-1.DE.batch.json" and len(first) == 3
    assert "note: 1 pack(s) recalled" in capsys.readouterr().out
    before = {p: p.read_bytes() for p in (home.epcis_outbox / "fmd-de").iterdir()}
    assert main(args) == 0  # again: same message IDs, files untouched
    assert {p: p.read_bytes() for p in (home.epcis_outbox / "fmd-de").iterdir()} == before
