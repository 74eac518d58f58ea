"""Sensors: notice new line-bridge output and materialize what depends on it."""

import json
from pathlib import Path

from dagster import RunRequest, SensorEvaluationContext, SensorResult, sensor

from orchestration.assets import work_order_partitions
from orchestration.resources import RawZone
from orchestration.warehouse_batch import WAREHOUSE_BATCH_JOB


def finished_work_orders(raw_line: Path) -> list[str]:
    """Work orders whose batch is complete: every stream written (aggregate last)."""
    folder = raw_line / "aggregate"
    if not folder.is_dir():
        return []
    done = []
    for path in sorted(folder.glob("work_order=*")):
        if any(path.glob("part-*.parquet")):
            done.append(path.name.split("=", 1)[1])
    return done


@sensor(job_name=WAREHOUSE_BATCH_JOB, minimum_interval_seconds=30)
def new_line_data_sensor(context: SensorEvaluationContext, raw_zone: RawZone) -> SensorResult:
    """New work orders in the raw line zone: register their partition, rebuild what the
    new line data touches (warehouse_batch_job; the EPCIS document of the batch follows
    through its automation condition)."""
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    current = finished_work_orders(raw_zone.line)
    new = [wo for wo in current if wo not in seen]
    return SensorResult(
        run_requests=[RunRequest(run_key=f"warehouse-{'-'.join(new)}")] if new else [],
        dynamic_partitions_requests=[work_order_partitions.build_add_request(new)] if new else [],
        cursor=json.dumps(sorted(seen | set(new))),
    )


def lifecycle_event_files(raw: Path) -> list[str]:
    """Names of the lifecycle event files (decommissioning, batch close) in the raw zone."""
    folder = raw / "lifecycle" / "events"
    return sorted(p.name for p in folder.glob("part-*.parquet")) if folder.is_dir() else []


@sensor(job_name=WAREHOUSE_BATCH_JOB, minimum_interval_seconds=30)
def new_lifecycle_events_sensor(
    context: SensorEvaluationContext, raw_zone: RawZone
) -> SensorResult:
    """New lifecycle events recorded outside the line: rebuild what they touch
    (warehouse_batch_job; the decommission EPCIS documents follow through their
    automation condition)."""
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    new = [name for name in lifecycle_event_files(Path(raw_zone.path)) if name not in seen]
    return SensorResult(
        run_requests=[RunRequest(run_key=f"lifecycle-{new[-1]}-{len(seen) + len(new)}")]
        if new
        else [],
        cursor=json.dumps(sorted(seen | set(new))),
    )
