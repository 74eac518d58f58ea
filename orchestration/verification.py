"""Verification assets: the query log into the raw zone, the responder's lookup store out of
the warehouse, and a sensor that moves new journal segments as they are sealed."""

from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AutomationCondition,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    asset,
    define_asset_job,
    sensor,
)

from orchestration.resources import DuckDBWarehouse, RawZone
from verification.querylog import flush_journal, journal_dir
from verification.store import export_from_warehouse, store_path

VERIFICATION_JOB = "verification_job"


@asset(
    key=AssetKey(["verification", "queries"]),
    group_name="verification",
    owners=["team:serialization"],
    kinds={"parquet"},
)
def verification_queries(
    context: AssetExecutionContext, raw_zone: RawZone
) -> MaterializeResult[None]:
    """The verification query log: sealed journal segments of the responder and the
    requestor moved to ``raw/verification/queries`` (append-only; the dbt source
    verification.queries reads them)."""
    rows = flush_journal(Path(raw_zone.path).parent)
    context.log.info(f"moved {rows} query rows to the raw zone")
    return MaterializeResult(metadata={"rows": rows})


@asset(
    key=AssetKey(["verification", "lookup_store"]),
    deps=[AssetKey("verification_index"), AssetKey("dim_products")],
    group_name="verification",
    owners=["team:serialization"],
    kinds={"sqlite"},
    automation_condition=AutomationCondition.eager(),
)
def verification_lookup_store(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, raw_zone: RawZone
) -> MaterializeResult[None]:
    """The responder's lookup store (SQLite), exported from verification_index and
    dim_products and swapped in atomically: a running responder picks it up within a second."""
    target = store_path(Path(raw_zone.path).parent)
    count = export_from_warehouse(Path(warehouse.path), target)
    context.log.info(f"lookup store: {count} serials")
    return MaterializeResult(metadata={"serials": count, "path": MetadataValue.path(str(target))})


verification_job = define_asset_job(
    VERIFICATION_JOB, selection=AssetSelection.assets(verification_queries)
)


@sensor(job_name=VERIFICATION_JOB, minimum_interval_seconds=60)
def sealed_query_journal_sensor(
    context: SensorEvaluationContext, raw_zone: RawZone
) -> SensorResult:
    """Sealed journal segments waiting: move them to the raw zone."""
    folder = journal_dir(Path(raw_zone.path).parent)
    sealed = sorted(p.name for p in folder.glob("*.sealed.jsonl")) if folder.is_dir() else []
    if not sealed:
        return SensorResult(run_requests=[])
    return SensorResult(run_requests=[RunRequest(run_key=f"queries-{sealed[-1]}")])


VERIFICATION_ASSETS = [verification_queries, verification_lookup_store]
VERIFICATION_JOBS = [verification_job]
VERIFICATION_SENSORS = [sealed_query_journal_sensor]
