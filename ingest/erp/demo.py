"""The demo's ERP steps: master data in through the SAP IDoc connector, write-back and
the reconciliation out. Each is one call from serialtrace/demo.py ``run_demo``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from ingest.erp.config import Connection, load_connections
from ingest.erp.loader import load_pending
from ingest.erp.outbound import reconciliation, write_back, write_report
from ingest.erp.sap_idoc import render_batmas, render_matmas
from serialtrace.config import DemoConfig
from serialtrace.errors import SerialtraceError
from serialtrace.settings import Home

Say = Callable[[str], None]
DEMO_CONNECTION = "sap-demo"


def _connection(home: Home) -> Connection:
    conns = load_connections(home)
    if DEMO_CONNECTION not in conns:
        raise SerialtraceError(f"the ERP connections have no {DEMO_CONNECTION!r} for the demo")
    return conns[DEMO_CONNECTION]


def demo_material_number(cfg: DemoConfig) -> str:
    return f"FG-{cfg.product.gtin[8:13]}"  # the item reference, as an SAP material number


def write_demo_idocs(home: Home, cfg: DemoConfig, quantity: int) -> list[Path]:
    """The demo configuration's product and lot as SAP would send them (MATMAS05 and
    BATMAS03 XML IDocs), dropped into the demo SAP connection's folder."""
    conn = _connection(home)
    now = dt.datetime.now(dt.UTC)
    p, lot = cfg.product, cfg.lot
    product = {
        "gtin": p.gtin,
        "erp_material": demo_material_number(cfg),
        "name": p.name,
        "ndc": p.ndc,
        "company_prefix_length": p.company_prefix_length,
        "dosage_form": p.dosage_form,
        "strength": p.strength,
        "pack_size": p.pack_size,
        "manufacturer": p.manufacturer,
    }
    batch = {
        "erp_material": demo_material_number(cfg),
        "lot": lot.lot,
        "expiry": lot.expiry,
        "manufactured_on": lot.manufactured_on,
        "release_status": lot.release_status,
        "quantity": quantity,
        "quantity_unit": "EA",
    }
    conn.drop.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%S%f")
    written = []
    for name, data in (
        (f"01-MATMAS05-{stamp}.xml", render_matmas([product], "DEMOCLNT100", now)),
        (f"02-BATMAS03-{stamp}.xml", render_batmas([batch], "DEMOCLNT100", now)),
    ):
        tmp = conn.drop / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(conn.drop / name)
        written.append(conn.drop / name)
    return written


def demo_erp_masterdata(home: Home, cfg: DemoConfig, quantity: int, say: Say) -> None:
    """Generate the demo's IDocs, load them through the SAP IDoc connector, say so."""
    conn = _connection(home)
    write_demo_idocs(home, cfg, quantity)
    for result in load_pending(home, conn):
        say(f"      SAP IDoc {result.line()}")
        if result.outcome == "quarantined":
            raise SerialtraceError(f"demo master data rejected: {result.errors[0]}")


def demo_erp_writeback(home: Home, work_order_id: str, say: Say) -> None:
    """Write the batch's commissioned serials back to SAP, report and say the reconciliation."""
    conn = _connection(home)
    files = write_back(home.warehouse, conn, work_order_id)
    report = write_report(home.warehouse, work_order_id, home.root / "reports")
    r = reconciliation(home.warehouse, work_order_id).row
    say(
        f"      ERP write-back: {', '.join(f.name for f in files)}; reconciliation "
        f"{r['reconciliation_status']}: planned {r['erp_planned_quantity']:,}, allocated "
        f"{r['allocated']:,}, commissioned {r['commissioned_at_line']:,}, rejected "
        f"{r['rejected_at_line']:,}, unused {r['unused_at_batch_close']:,}"
        + (f" ({r['discrepancy']})" if r["discrepancy"] else "")
    )
    say(f"      report: {report[1]}")
