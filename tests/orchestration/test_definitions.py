"""The Dagster definitions: the graph, the jobs and the new-line-data sensor."""

from __future__ import annotations

from pathlib import Path

from dagster import AssetKey, DagsterInstance, SensorResult, build_sensor_context

from orchestration.definitions import EPCIS_JOB, WAREHOUSE_JOB, build_definitions
from orchestration.resources import RawZone
from orchestration.sensors import finished_work_orders, new_line_data_sensor
from serialtrace.demo import DemoResult
from serialtrace.settings import Home


def test_graph_holds_dbt_models_and_epcis_downstream(demo: tuple[Home, DemoResult]) -> None:
    home, _ = demo
    defs = build_definitions(home)
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for model in (
        "stg_line__prints",
        "serial_lifecycle",
        "aggregation_hierarchy",
        "batch_quality",
        "epcis_batch_document",
    ):
        assert model in keys
    parents = graph.get(AssetKey("epcis_batch_document")).parent_keys
    assert AssetKey("serial_lifecycle") in parents
    assert defs.resolve_job_def(WAREHOUSE_JOB) and defs.resolve_job_def(EPCIS_JOB)


def test_sensor_requests_a_build_once_per_new_batch(
    demo: tuple[Home, DemoResult], tmp_path: Path
) -> None:
    home, result = demo
    assert finished_work_orders(home.raw_line) == [result.work_order_id]
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(
            instance=instance, resources={"raw_zone": RawZone(path=str(home.raw))}
        )
        first = new_line_data_sensor(context)
        assert isinstance(first, SensorResult)
        assert len(first.run_requests or []) == 1
        requests = first.dynamic_partitions_requests or []
        assert requests and list(requests[0].partition_keys or []) == [result.work_order_id]
        context = build_sensor_context(
            instance=instance,
            cursor=first.cursor,
            resources={"raw_zone": RawZone(path=str(home.raw))},
        )
        again = new_line_data_sensor(context)
        assert isinstance(again, SensorResult)
        assert not again.run_requests and not again.dynamic_partitions_requests
    assert finished_work_orders(tmp_path) == []
