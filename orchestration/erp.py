"""ERP/MES inbound in Dagster: an ERP connection resource, the `erp_inbound_loads`
asset (one load pass over every connection's drop folder and API) and a sensor that
starts it when files wait in a drop folder; new master data then rebuilds the warehouse.

No `from __future__ import annotations` here: Dagster reads annotations at runtime.
"""

from typing import Any

from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    MaterializeResult,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    asset,
    define_asset_job,
    sensor,
)

from ingest.erp.config import Connection, load_connections
from ingest.erp.loader import collect, load_pending, pending_files
from serialtrace.errors import SerialtraceError
from serialtrace.settings import Home

ERP_JOB = "erp_inbound_job"


class ErpConnections(ConfigurableResource):  # type: ignore[type-arg]
    """The ERP/MES connections of a home (``<home>/erp.toml`` or the embedded defaults)."""

    home: str

    def connections(self) -> list[Connection]:
        return list(load_connections(Home.at(self.home)).values())


@asset(
    group_name="ingest",
    owners=["team:erp"],
    description="One load pass of every ERP/MES connection: files in drop folders and "
    "API fetches land in raw/masterdata (or quarantine), logged in raw/erp/loads.",
)
def erp_inbound_loads(
    context: AssetExecutionContext, erp: ErpConnections
) -> MaterializeResult[None]:
    home = Home.at(erp.home)
    outcomes: dict[str, int] = {"loaded": 0, "quarantined": 0, "already loaded": 0}
    failed: list[str] = []
    for conn in erp.connections():
        try:
            collect(conn)
        except SerialtraceError as exc:  # an API or SFTP server down: the folders still load
            context.log.error(str(exc))
            failed.append(conn.name)
        for result in load_pending(home, conn):
            context.log.info(result.line())
            outcomes[result.outcome] += 1
    metadata: dict[str, Any] = {k.replace(" ", "_"): v for k, v in outcomes.items()}
    metadata["failed_fetches"] = ", ".join(failed) or "none"
    return MaterializeResult(metadata=metadata)


erp_inbound_job = define_asset_job(ERP_JOB, selection=[erp_inbound_loads])


@sensor(job_name=ERP_JOB, minimum_interval_seconds=30)
def erp_drop_sensor(context: SensorEvaluationContext, erp: ErpConnections) -> SensorResult:
    """Files waiting in any drop folder: run a load pass (one run per set of files)."""
    waiting = sorted(
        f"{conn.name}/{path.name}" for conn in erp.connections() for path in pending_files(conn)
    )
    if not waiting or context.cursor == "|".join(waiting):
        return SensorResult(run_requests=[], cursor=context.cursor)
    key = "|".join(waiting)
    return SensorResult(run_requests=[RunRequest(run_key=key[:200])], cursor=key)
