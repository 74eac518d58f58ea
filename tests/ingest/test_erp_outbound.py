"""Write-back of commissioned serials (IDoc-like XML or CSV per connection) and the
reconciliation report (CSV + PDF), read from the marts' contract."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import duckdb
import pytest
from lxml import etree

from ingest.erp.config import Connection
from ingest.erp.outbound import reconciliation, write_back, write_report
from serialtrace.cli import main
from serialtrace.errors import SerialtraceError
from serialtrace.settings import Home

STATUSES = ["aggregated"] * 5 + ["commissioned", "decommissioned", "decommissioned"]


@pytest.fixture
def warehouse(home: Home) -> Path:
    """The two marts the outbound side reads, with one batch of 8 serials."""
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute(
            "create table serial_lifecycle (work_order_id varchar, gtin varchar, lot varchar, "
            "expiry date, serial varchar, status varchar, case_sscc varchar, "
            "pallet_sscc varchar, seq bigint)"
        )
        for n, status in enumerate(STATUSES, 1):
            con.execute(
                "insert into serial_lifecycle values ('WO-9', '00312345678906', 'L9', "
                "'2028-10-31', ?, ?, ?, null, ?)",
                [f"S{n:03d}", status, "003123450000000017" if n <= 5 else None, n],
            )
        con.execute(
            "create table erp_reconciliation as select 'WO-9' as work_order_id, "
            "'00312345678906' as gtin, 'L9' as lot, 'released' as release_status, "
            "10 as erp_planned_quantity, 8 as erp_batch_quantity, 10 as allocated, "
            "8 as printed, 6 as commissioned_at_line, 2 as rejected_at_line, "
            "0 as unused_at_batch_close, 2 as decommissioned, 6 as active, 0 as shipped, "
            "6 as line_passed, 2 as line_rejected, "
            "'allocated 10 <> ERP planned 8; 2 allocated serials neither printed nor closed "
            "as unused' as discrepancy, 'discrepancy' as reconciliation_status"
        )
    return home.warehouse


def test_idoc_write_back_carries_serials_and_reconciliation(
    home: Home, sap: Connection, warehouse: Path
) -> None:
    [path] = write_back(warehouse, sap, "WO-9")
    assert path.parent == sap.outbox and path.name == "WO-9-serials.xml"
    root = etree.parse(str(path)).getroot()
    assert root.tag == "ZSTSERIALS01"
    assert root.findtext("IDOC/EDI_DC40/MESTYP") == "ZSTSERIAL"
    assert root.findtext("IDOC/EDI_DC40/RCVPRN") == "SAP-DEMO"
    batch = root.find("IDOC/Z1STBATCH")
    assert batch is not None
    assert (batch.findtext("BATCH"), batch.findtext("RECON_STATUS")) == ("L9", "DISCREPANCY")
    assert batch.findtext("COMMISSIONED_AT_LINE") == "6"
    assert "neither printed nor closed" in (batch.findtext("DISCREPANCY") or "")
    assert batch.findtext("SERIALIZATION_RELEASABLE") == ""  # not releasable
    assert "do not reconcile" in (batch.findtext("RELEASE_NOTE") or "")
    serials = [s.findtext("SERIAL") for s in batch.findall("Z1STSERIAL")]
    assert serials == [f"S{n:03d}" for n in range(1, 7)]  # decommissioned ones left out


def test_csv_write_back(home: Home, sap: Connection, warehouse: Path) -> None:
    conn = dataclasses.replace(sap, writeback="csv")
    serials_csv, recon_csv = write_back(warehouse, conn, "L9")  # by lot works too
    rows = list(csv.DictReader(serials_csv.open()))
    assert [r["serial"] for r in rows] == [f"S{n:03d}" for n in range(1, 7)]
    assert rows[0]["case_sscc"] == "003123450000000017" and rows[5]["case_sscc"] == ""
    [recon] = list(csv.DictReader(recon_csv.open()))
    assert (recon["erp_batch_quantity"], recon["reconciliation_status"]) == ("8", "discrepancy")


def test_report_csv_and_pdf(
    home: Home, warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["erp", "report", "--batch", "WO-9", "--home", str(home.root)]) == 0
    csv_path, pdf_path = (Path(line) for line in capsys.readouterr().out.split())
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("# reconciliation of work order WO-9")
    figures = {r["column"]: r["value"] for r in csv.DictReader(io.StringIO("\n".join(lines[1:])))}
    assert figures["allocated"] == "10" and figures["rejected_at_line"] == "2"
    assert figures["discrepancy"].startswith("allocated 10 <> ERP planned 8")
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000
    assert reconciliation(warehouse, "WO-9").status == "discrepancy"


def test_batch_that_does_not_reconcile_may_not_be_released(
    home: Home, warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["erp", "release-check", "--batch", "WO-9", "--home", str(home.root)]) == 1
    assert "WO-9: may NOT be released (serialization): serial counts do not reconcile" in (
        capsys.readouterr().out
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update erp_reconciliation set discrepancy = '', reconciliation_status = 'reconciled'"
        )
    assert main(["erp", "release-check", "--batch", "WO-9", "--home", str(home.root)]) == 0


def test_unknown_batch_is_a_clear_error(home: Home, warehouse: Path) -> None:
    with pytest.raises(SerialtraceError, match="--batch: WO-X is neither a work order nor a lot"):
        write_report(warehouse, "WO-X", home.root / "reports")
