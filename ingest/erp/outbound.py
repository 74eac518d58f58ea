"""Outbound: commissioned serials of a batch back to the ERP/MES, and the per-batch
reconciliation report (CSV and PDF), both read from the warehouse marts
(``serial_lifecycle``, ``erp_reconciliation``).

Write-back formats (chosen per connection, ``writeback = "idoc" | "csv"``):

- ``idoc``: an IDoc-like XML ``ZSTSERIALS01`` (message type ``ZSTSERIAL``): control
  record ``EDI_DC40``, one ``Z1STBATCH`` segment with the batch and every count of the
  reconciliation with its status and discrepancy, then one ``Z1STSERIAL`` per
  commissioned serial (SERIAL, STATUS, CASE_SSCC, PALLET_SSCC).
- ``csv``: ``<WO>-serials.csv`` (work_order_id, gtin, lot, expiry, serial, status,
  case_sscc, pallet_sscc) and ``<WO>-reconciliation.csv`` (one row of the mart).

Files are written atomically into the connection's outbox folder.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ingest.erp.config import Connection
from ingest.erp.sap_idoc import _segment, control_record
from serialtrace.errors import SerialtraceError

COMMISSIONED = ("commissioned", "aggregated", "shipped", "received", "dispensed")
SERIAL_COLUMNS = (
    "work_order_id",
    "gtin",
    "lot",
    "expiry",
    "serial",
    "status",
    "case_sscc",
    "pallet_sscc",
)
REPORT_COUNTS = (
    ("erp_planned_quantity", "ERP planned quantity"),
    ("allocated", "Allocated"),
    ("printed", "Printed"),
    ("commissioned_at_line", "Commissioned at the line"),
    ("rejected_at_line", "Rejected at the line"),
    ("unused_at_batch_close", "Unused, retired at batch close"),
    ("decommissioned", "Decommissioned (any reason)"),
    ("active", "Active (commissioned or aggregated)"),
    ("shipped", "Shipped"),
)


@dataclass(frozen=True)
class BatchReconciliation:
    row: dict[str, Any]

    @property
    def work_order_id(self) -> str:
        return str(self.row["work_order_id"])

    @property
    def status(self) -> str:
        return str(self.row["reconciliation_status"])

    def release_verdict(self) -> tuple[bool, str]:
        """May the batch be released as far as serialization is concerned? A batch whose
        serial counts do not reconcile may not (the ERP/QA reads this with the write-back)."""
        if self.status != "reconciled":
            return False, f"serial counts do not reconcile: {self.row['discrepancy']}"
        return True, "every allocated serial is accounted for"


def reconciliation(warehouse: Path, batch: str) -> BatchReconciliation:
    """The erp_reconciliation row of a work order (or of the only work order of a lot)."""
    if not warehouse.is_file():
        raise SerialtraceError(f"no warehouse at {warehouse}: run `serialtrace materialize`")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(
            "select * from erp_reconciliation where work_order_id = ? or lot = ? "
            "order by work_order_id",
            [batch, batch],
        )
        names = [d[0] for d in cursor.description or []]
        found = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    if not found:
        raise SerialtraceError(
            f"--batch: {batch} is neither a work order nor a lot in erp_reconciliation"
        )
    if len(found) > 1:
        orders = ", ".join(str(r["work_order_id"]) for r in found)
        raise SerialtraceError(f"--batch: lot {batch} has several work orders ({orders}): name one")
    return BatchReconciliation(found[0])


def commissioned_serials(warehouse: Path, work_order_id: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        marks = ", ".join("?" for _ in COMMISSIONED)
        cursor = con.execute(
            f"select {', '.join(SERIAL_COLUMNS)} from serial_lifecycle "
            f"where work_order_id = ? and status in ({marks}) order by seq",
            [work_order_id, *COMMISSIONED],
        )
        return [dict(zip(SERIAL_COLUMNS, r, strict=True)) for r in cursor.fetchall()]


def _atomic(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...] | list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return buffer.getvalue().encode()


def write_back(warehouse: Path, conn: Connection, work_order_id: str) -> list[Path]:
    """Write the batch's commissioned serials and its reconciliation to ``conn``'s outbox."""
    recon = reconciliation(warehouse, work_order_id)
    serials = commissioned_serials(warehouse, recon.work_order_id)
    wo = recon.work_order_id
    if conn.writeback == "csv":
        return [
            _atomic(conn.outbox / f"{wo}-serials.csv", _csv(serials, SERIAL_COLUMNS)),
            _atomic(conn.outbox / f"{wo}-reconciliation.csv", _csv([recon.row], list(recon.row))),
        ]
    return [
        _atomic(conn.outbox / f"{wo}-serials.xml", render_serials_idoc(recon, serials, conn.name))
    ]


def render_serials_idoc(
    recon: BatchReconciliation, serials: list[dict[str, Any]], receiver: str = "ERP"
) -> bytes:
    from lxml import etree

    r = recon.row
    now = dt.datetime.now(dt.UTC)
    releasable, note = recon.release_verdict()
    counts = [(name.upper(), r[name]) for name, _ in REPORT_COUNTS]
    children = "".join(
        _segment(
            "Z1STSERIAL",
            [
                ("SERIAL", s["serial"]),
                ("STATUS", str(s["status"]).upper()),
                ("CASE_SSCC", s["case_sscc"]),
                ("PALLET_SSCC", s["pallet_sscc"]),
            ],
        )
        for s in serials
    )
    batch = _segment(
        "Z1STBATCH",
        [
            ("WORK_ORDER", r["work_order_id"]),
            ("GTIN", r["gtin"]),
            ("BATCH", r["lot"]),
            ("RELEASE_STATUS", str(r["release_status"] or "").upper()),
            *counts,
            ("COMMISSIONED_SERIALS", len(serials)),
            ("RECON_STATUS", str(r["reconciliation_status"]).upper()),
            ("DISCREPANCY", r["discrepancy"]),
            ("SERIALIZATION_RELEASABLE", "X" if releasable else ""),
            ("RELEASE_NOTE", note),
        ],
        children,
    )
    control = control_record(
        "ZSTSERIALS01", "", "ZSTSERIAL", 1, "SERIALTRACE", now, receiver.upper()
    )
    text = f'<ZSTSERIALS01><IDOC BEGIN="1">{control}{batch}</IDOC></ZSTSERIALS01>'
    return etree.tostring(
        etree.fromstring(text.encode()), pretty_print=True, xml_declaration=True, encoding="UTF-8"
    )


# ------------------------------------------------------------------------------ report


def report_csv(recon: BatchReconciliation) -> bytes:
    """One line per figure: what, ERP/serialization count, and the batch's verdict."""
    r = recon.row
    rows = [{"figure": label, "column": name, "value": r[name]} for name, label in REPORT_COUNTS]
    rows += [
        {
            "figure": "Reconciliation status",
            "column": "reconciliation_status",
            "value": r["reconciliation_status"],
        },
        {"figure": "Discrepancy", "column": "discrepancy", "value": r["discrepancy"] or ""},
        {
            "figure": "Releasable (serialization)",
            "column": "releasable",
            "value": "yes" if recon.release_verdict()[0] else "no",
        },
    ]
    header = (
        f"# reconciliation of work order {r['work_order_id']}, GTIN {r['gtin']}, "
        f"lot {r['lot']}, release status {r['release_status']}\n"
    ).encode()
    return header + _csv(rows, ("figure", "column", "value"))


def report_pdf(recon: BatchReconciliation) -> bytes:
    from fpdf import FPDF

    r = recon.row
    pdf = FPDF(format="A4")
    pdf.set_title(f"Reconciliation {r['work_order_id']}")
    pdf.set_creator("Serialtrace")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 10, f"Batch reconciliation - {r['work_order_id']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for label, value in (
        ("GTIN", r["gtin"]),
        ("Lot", r["lot"]),
        ("ERP release status", r["release_status"]),
        ("Generated", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ):
        pdf.cell(0, 6, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    with pdf.table(col_widths=(110, 50), text_align=("LEFT", "RIGHT")) as table:
        table.row(["Figure", "Count"])
        for name, label in REPORT_COUNTS:
            table.row([label, f"{int(r[name]):,}"])
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    verdict = "RECONCILED" if recon.status == "reconciled" else "DISCREPANCY"
    pdf.cell(0, 8, f"Status: {verdict}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    explanation = str(r["discrepancy"] or "") or "Every allocated serial is accounted for."
    for part in explanation.split("; "):
        pdf.multi_cell(0, 6, f"- {part}", new_x="LMARGIN", new_y="NEXT")
    releasable, note = recon.release_verdict()
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 10)
    pdf.multi_cell(
        0,
        6,
        f"Batch release (serialization): {'may be released' if releasable else 'NOT releasable'}"
        f" - {note}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())


def write_report(warehouse: Path, batch: str, out_dir: Path) -> list[Path]:
    recon = reconciliation(warehouse, batch)
    stem = f"reconciliation-{recon.work_order_id}"
    return [
        _atomic(out_dir / f"{stem}.csv", report_csv(recon)),
        _atomic(out_dir / f"{stem}.pdf", report_pdf(recon)),
    ]
