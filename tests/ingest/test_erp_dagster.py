"""The Dagster side: the drop-folder sensor asks for a load pass once per set of files;
the asset loads them."""

from __future__ import annotations

from dagster import MaterializeResult, build_asset_context, build_sensor_context

from ingest.erp.config import Connection
from orchestration.erp import ErpConnections, erp_drop_sensor, erp_inbound_loads
from serialtrace.settings import Home
from tests.ingest.conftest import drop


def test_sensor_and_asset_load_dropped_files(home: Home, sap: Connection) -> None:
    erp = ErpConnections(home=str(home.root))
    empty = erp_drop_sensor(build_sensor_context(resources={"erp": erp}))
    assert not empty.run_requests  # type: ignore[union-attr]

    drop(sap, "sap/MATMAS05_products.xml")
    drop(sap, "sap/BATMAS03_bad.xml")
    first = erp_drop_sensor(build_sensor_context(resources={"erp": erp}))
    assert len(first.run_requests or []) == 1  # type: ignore[union-attr]
    again = erp_drop_sensor(
        build_sensor_context(resources={"erp": erp}, cursor=first.cursor)  # type: ignore[union-attr]
    )
    assert not again.run_requests  # type: ignore[union-attr]

    result = erp_inbound_loads(build_asset_context(resources={"erp": erp}))
    assert isinstance(result, MaterializeResult) and result.metadata is not None
    metadata = dict(result.metadata)
    assert (metadata["loaded"], metadata["quarantined"]) == (1, 1)
    assert not any(sap.drop.iterdir())
