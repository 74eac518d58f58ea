"""`serialtrace demo`: one simulated batch through every stage.

master data → serial allocation → line bridge against simulators → Dagster/dbt warehouse
→ EPCIS 1.2 document (XSD-validated) → summary read back from the warehouse.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from epcis.demo import demo_shipping
from ingest.erp.demo import demo_erp_masterdata, demo_erp_writeback
from ingest.erp.gating import require_released
from ingest.masterdata import land_allocations, land_masterdata
from line_bridge.bridge import Batch, BatchResult
from line_bridge.linefile import parse_line_file
from line_bridge.orders import sscc_source
from line_bridge.runner import SimulatorOptions, run_simulated_batch
from line_bridge.simulator import FaultRates
from serialtrace.clients_demo import ClientsDemoResult
from serialtrace.config import DemoConfig, load_demo_config
from serialtrace.errors import SerialtraceError
from serialtrace.lifecycle.batch_close import close_batch
from serialtrace.serials.ledger import SerialLedger
from serialtrace.serials.pools import demo_pool
from serialtrace.settings import Home

Say = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class DemoResult:
    work_order_id: str
    units: int
    printed: int
    passed: int
    rejected: int
    reject_causes: dict[str, int]
    cases: int
    pallets: int
    epcis_path: Path
    epcis_commissioned: int
    line_seconds: float
    elapsed_seconds: float
    files: list[Path] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    second_client: ClientsDemoResult | None = None  # CMO mode (serialtrace/clients_demo.py)
    demo_users: dict[str, str] = field(default_factory=dict)  # name -> generated password


def open_work_order(
    home: Home,
    cfg: DemoConfig,
    units: int,
    ledger: SerialLedger,
    work_order_id: str | None = None,
) -> tuple[str, list[str]]:
    """Land the master data and a (new, unless named) work order in the raw zone, allocate
    its serials from the demo pool (checked against its market profile) and land them."""
    work_order_id = work_order_id or next_work_order(ledger, cfg.work_order.work_order_prefix)
    land_masterdata(home.raw_masterdata, cfg, work_order_id, units)
    require_released(home.raw_masterdata, cfg.product.gtin, cfg.lot.lot, "serial allocation")
    pool = ledger.ensure_pool(
        demo_pool(
            cfg.pool.pool_id,
            cfg.company.company_id,
            cfg.product.gtin,
            cfg.pool.market,
            cfg.pool.length,
            cfg.pool.alphabet,
            cfg.pool.randomized,
        )
    )
    serials = list(ledger.allocate(pool, units, work_order_id))
    land_allocations(
        home.raw_serials,
        pool.pool_id,
        work_order_id,
        cfg.product.gtin,
        cfg.lot.lot,
        cfg.lot.expiry,
        serials,
    )
    return work_order_id, serials


def next_work_order(ledger: SerialLedger, prefix: str) -> str:
    return f"{prefix}-{ledger.next_values(f'work_order:{prefix}', 1) + 1:04d}"


@dataclass
class DemoBatch:
    """Steps 1–4 of the demo: one batch from master data to the warehouse and its EPCIS."""

    work_order_id: str
    line_result: BatchResult
    epcis_path: Path
    summary: dict[str, Any]  # its batch_quality row, cross-checked with the line


def demo_batch(
    home: Home,
    cfg: DemoConfig,
    units: int,
    seed: int | None = None,
    say: Say = _stderr,
    lap: Callable[[str], None] = lambda _: None,
) -> DemoBatch:
    """Master data through the SAP IDoc connector, a released lot, serial allocation, the
    line bridge against the device simulators, the warehouse (Dagster + dbt) and the
    batch's EPCIS 1.2 document; ``lap(stage)`` is called after each stage."""
    say(f"[1/10] master data: {cfg.company.name}, GTIN {cfg.product.gtin}, lot {cfg.lot.lot}")
    demo_erp_masterdata(home, cfg, units, say)
    with SerialLedger(home.serial_ledger) as ledger:
        say(f"[2/10] allocating {units:,} randomized serials to a new work order")
        work_order_id, serials = open_work_order(home, cfg, units, ledger)
        new_sscc = sscc_source(
            ledger,
            cfg.company.company_prefix,
            units,
            cfg.work_order.case_size,
            cfg.work_order.pallet_size,
        )
        lap("masterdata_and_allocation")

        say(f"[3/10] line bridge vs printer, camera, reject-gate simulators ({units:,} units)")
        line = parse_line_file(
            {
                "line": {
                    "id": cfg.work_order.line_id,
                    "grade_threshold": cfg.line.grade_threshold,
                    "decision_budget_ms": cfg.line.decision_budget_ms,
                    "case_size": cfg.work_order.case_size,
                    "pallet_size": cfg.work_order.pallet_size,
                },
                "devices": {kind: {"driver": "jsonl"} for kind in ("printer", "camera", "gate")},
            }
        )
        batch = Batch(
            work_order_id, cfg.product.gtin, cfg.product.ndc, cfg.lot.lot, cfg.lot.expiry, serials
        )

        def progress(result: BatchResult) -> None:
            say(
                f"      {result.printed:>9,} / {units:,} printed  {result.passed:,} passed  "
                f"{result.rejected:,} rejected  {result.units_per_minute:,.0f} units/min"
            )

        simulated = SimulatorOptions(faults=FaultRates.spread(cfg.line.fault_rate), seed=seed)
        line_result = run_simulated_batch(line, batch, home.raw_line, new_sscc, simulated, progress)
        close_batch(home.raw, work_order_id)  # unprinted serials: retired, never reissued
        lap("line")

    log = home.logs / f"materialize-{work_order_id}.log"
    say(f"[4/10] materializing the warehouse (Dagster + dbt) and EPCIS 1.2; dbt log: {log}")
    with log.open("w") as handle, contextlib.redirect_stdout(handle):
        epcis_path = materialize_batch(home, work_order_id)
    lap("warehouse_and_epcis")

    summary = _batch_summary(home.warehouse, work_order_id)
    _cross_check(summary, line_result)
    return DemoBatch(work_order_id, line_result, epcis_path, summary)


def run_demo(
    home: Home,
    units: int,
    config: DemoConfig | None = None,
    seed: int | None = None,
    say: Say = _stderr,
) -> DemoResult:
    if units < 1:
        raise SerialtraceError("--units: must be a positive whole number")
    started = time.perf_counter()
    cfg = config or load_demo_config()
    home.ensure()

    stages: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        stages[stage] = now - mark
        mark = now

    made = demo_batch(home, cfg, units, seed, say, lap)
    work_order_id, line_result, summary = made.work_order_id, made.line_result, made.summary
    say("[5/10] shipping the pallets to the customer: EPCIS 1.2 XML, 2.0 XML, 2.0 JSON-LD")
    shipped = demo_shipping(home, cfg, work_order_id, say)
    lap("shipping")
    demo_erp_writeback(home, work_order_id, say)
    say("[6/10] verification: the responder answers a demo serial and a never-issued one")
    from verification.demo import demo_verification

    verified = demo_verification(home, cfg, say, work_order_id)
    lap("verification")
    from alerts.demo import demo_alerts
    from serialtrace.clients_demo import demo_clients

    say("[7/10] CMO mode: a second client's batch in its own data space; demo users")
    clients, demo_passwords = demo_clients(home, cfg, say, seed=seed)
    lap("second_client")
    say("[8/10] suspect product alert from that not-verified answer: quarantine, sign, close")
    demo_alerts(
        home, cfg, say, logged_serial=verified.never_issued.serial, passwords=demo_passwords
    )
    lap("alerts")
    say("[9/10] delivering the shipment's EPCIS to the demo SFTP and AS2 partners")
    from partners.demo import demo_partners, refresh_scorecard

    demo_partners(home, [d.path for d in shipped.documents if d.format == "1.2-xml"], say)
    log = home.logs / f"materialize-{work_order_id}.log"
    with log.open("a") as handle, contextlib.redirect_stdout(handle):
        refresh_scorecard(home)
    lap("partners")
    say("[10/10] done")
    return DemoResult(
        work_order_id=work_order_id,
        units=units,
        printed=int(summary["printed"]),
        passed=int(summary["passed"]),
        rejected=int(summary["rejected"]),
        reject_causes={
            cause: int(summary[cause])
            for cause in ("wrong_data", "unreadable", "low_grade", "timeout", "duplicate")
            if summary[cause]
        },
        cases=int(summary["cases"]),
        pallets=int(summary["pallets"]),
        epcis_path=made.epcis_path,
        epcis_commissioned=int(summary["passed"]),
        line_seconds=line_result.elapsed_s,
        elapsed_seconds=time.perf_counter() - started,
        files=sorted(p for p in home.raw.rglob("*.parquet") if work_order_id in str(p)),
        stage_seconds=stages,
        second_client=clients,
        demo_users=demo_passwords,
    )


def materialize_batch(home: Home, work_order_id: str) -> Path:
    """Run the warehouse job, then the EPCIS job for the batch's partition, in process,
    recorded in the home's Dagster instance (so the Dagster UI shows the runs)."""
    from orchestration.definitions import build_definitions
    from orchestration.run import materialize

    report = materialize(home, build_definitions(home), work_orders=[work_order_id])
    if work_order_id not in report.batch_documents:
        raise SerialtraceError(f"no EPCIS document was rendered for {work_order_id}")
    return report.batch_documents[work_order_id]


def _batch_summary(warehouse: Path, work_order_id: str) -> dict[str, Any]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute("select * from batch_quality where work_order_id = ?", [work_order_id])
        row = cursor.fetchone()
        if row is None:
            raise SerialtraceError(f"batch {work_order_id} is missing from batch_quality")
        names = [d[0] for d in cursor.description or []]
        return dict(zip(names, row, strict=True))


def _cross_check(summary: dict[str, Any], line: BatchResult) -> None:
    """The warehouse must tell the same story as the bridge that produced the data."""
    pairs = {
        "printed": line.printed,
        "passed": line.passed,
        "rejected": line.rejected,
        "cases": line.cases,
        "pallets": line.pallets,
    }
    wrong = {k: (summary[k], v) for k, v in pairs.items() if int(summary[k]) != v}
    if wrong:
        detail = ", ".join(f"{k}: warehouse {w} vs line {b}" for k, (w, b) in wrong.items())
        raise SerialtraceError(f"warehouse does not reconcile with the line: {detail}")
