"""Materialize the asset graph in process, recorded in the home's Dagster instance.

Used by ``serialtrace demo`` and ``serialtrace materialize``; the runs show up in the
Dagster UI of the same home (``dagster dev -m orchestration.definitions``).
"""

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import AssetSelection, DagsterInstance, Definitions

from orchestration.sensors import finished_work_orders
from serialtrace.errors import SerialtraceError
from serialtrace.settings import Home

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
Say = Callable[[str], None]


@contextmanager
def dagster_instance(home: Home) -> Iterator[DagsterInstance]:
    """The home's Dagster instance (storage in ``<home>/dagster``, no telemetry)."""
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    home.dagster_home.mkdir(parents=True, exist_ok=True)
    settings = home.dagster_home / "dagster.yaml"
    if not settings.exists():
        settings.write_text("telemetry:\n  enabled: false\n")
    with DagsterInstance.get() as instance:
        yield instance


def raise_on_failure(result: Any, what: str) -> None:
    """One line naming the first failing step's own error, not Dagster's wrapper."""
    if result.success:
        return
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            while error.cause is not None and "SerialtraceError" not in error.cls_name:
                error = error.cause
            messages.append(error.message.strip().splitlines()[0])
    raise SerialtraceError(f"{what} failed: {'; '.join(messages) or 'see the Dagster run log'}")


@dataclass
class MaterializeReport:
    assets: list[str] = field(default_factory=list)
    epcis_documents: list[Path] = field(default_factory=list)
    batch_documents: dict[str, Path] = field(default_factory=dict)  # work order → file
    seconds: dict[str, float] = field(default_factory=dict)


def _documents(result: Any, node: str) -> list[Path]:
    paths: list[Path] = []
    for materialization in result.asset_materializations_for_node(node):
        meta = materialization.metadata
        if "path" in meta:
            paths.append(Path(str(meta["path"].value)))
        if "paths" in meta:
            paths += [Path(p) for p in meta["paths"].value]
    return paths


def materialize(
    home: Home,
    defs: Definitions,
    select: str | None = None,
    work_orders: list[str] | None = None,
    say: Say = lambda _: None,
) -> MaterializeReport:
    """Build the warehouse (all dbt models and tests, or the ``select``ed assets), then
    the EPCIS documents: one per work order (``work_orders``, default every finished
    batch of the raw zone without a document yet) and any pending decommissionings."""
    from orchestration.definitions import EPCIS_JOB

    report = MaterializeReport()
    with dagster_instance(home) as instance:
        started = time.perf_counter()
        graph = defs.resolve_asset_graph()
        # partner drops and pickups run on their schedules/sensor, never with a rebuild
        everything = AssetSelection.all() - AssetSelection.groups("partners")
        selection = AssetSelection.from_string(select) if select else everything
        keys = selection.resolve(graph)
        if not keys:
            raise SerialtraceError(f"--select {select!r} matches no asset")
        batch_keys = {k for k in keys if k.to_user_string() == "epcis_batch_document"}
        # shipment files are rendered per shipment partition (new_shipments_sensor)
        per_shipment = {k for k in keys if k.to_user_string() == "epcis_shipment_documents"}
        other = sorted(keys - batch_keys - per_shipment, key=lambda k: k.to_user_string())
        if other:
            say(f"materializing {len(other)} assets (dbt build with its tests, then EPCIS)")
            job = defs.resolve_implicit_global_asset_job_def()
            result = job.execute_in_process(
                instance=instance, asset_selection=other, raise_on_error=False, run_config=QUIET
            )
            raise_on_failure(result, "materialization")
            report.assets = [k.to_user_string() for k in other]
            report.epcis_documents += _documents(result, "epcis_decommission_documents")
        report.seconds["warehouse"] = time.perf_counter() - started
        if batch_keys or select is None:
            started = time.perf_counter()
            wanted = work_orders or [
                wo
                for wo in finished_work_orders(home.raw_line)
                if not (home.epcis_outbox / wo / f"{wo}.epcis-1.2.xml").exists()
            ]
            instance.add_dynamic_partitions("work_orders", wanted)
            epcis_job = defs.resolve_job_def(EPCIS_JOB)
            for work_order_id in wanted:
                result = epcis_job.execute_in_process(
                    instance=instance,
                    partition_key=work_order_id,
                    raise_on_error=False,
                    run_config=QUIET,
                )
                raise_on_failure(result, f"EPCIS rendering of {work_order_id}")
                paths = _documents(result, "epcis_batch_document")
                report.epcis_documents += paths
                report.batch_documents[work_order_id] = paths[0]
                say(f"  EPCIS 1.2 for {work_order_id}: {', '.join(map(str, paths))}")
            report.seconds["epcis"] = time.perf_counter() - started
    return report
