"""The one Dagster ``Definitions`` of Serialtrace.

Load it with ``dagster dev -m orchestration.definitions`` (SERIALTRACE_HOME names the
home folder, as for every ``serialtrace`` subcommand).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg
from dagster import AssetSelection, Definitions, define_asset_job
from dagster_dbt import DbtCliResource

from orchestration.alerts import AlertsResource, alerts_job, alerts_schedule
from orchestration.assets import epcis_batch_document, epcis_decommission_documents
from orchestration.dbt import TRANSFORMS_DIR, build_dbt_assets, dbt_environment, prepare_manifest
from orchestration.erp import ErpConnections, erp_drop_sensor, erp_inbound_job, erp_inbound_loads
from orchestration.partners import partner_definitions
from orchestration.resources import DuckDBWarehouse, EpcisOutbox, RawZone
from orchestration.sensors import new_lifecycle_events_sensor, new_line_data_sensor
from orchestration.shipping import (
    epcis_shipment_documents,
    epcis_shipping_job,
    new_shipments_sensor,
)
from orchestration.verification import (
    VERIFICATION_ASSETS,
    VERIFICATION_JOBS,
    VERIFICATION_SENSORS,
)
from orchestration.warehouse_batch import build_warehouse_batch_job
from serialtrace.settings import Home, resolve_home

WAREHOUSE_JOB = "warehouse_job"
# the dbt of this environment, whether or not its bin/ folder is on PATH
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
EPCIS_JOB = "epcis_job"


def build_definitions(home: Home) -> Definitions:
    os.environ.update(dbt_environment(home))  # read by transforms/profiles.yml and sources
    warehouse_models = build_dbt_assets(prepare_manifest(home))
    warehouse_job = define_asset_job(
        WAREHOUSE_JOB, selection=AssetSelection.assets(warehouse_models)
    )
    epcis_job = define_asset_job(EPCIS_JOB, selection=AssetSelection.assets(epcis_batch_document))
    core = Definitions(
        assets=[
            warehouse_models,
            epcis_batch_document,
            epcis_decommission_documents,
            erp_inbound_loads,
            epcis_shipment_documents,
            *VERIFICATION_ASSETS,
        ],
        jobs=[
            warehouse_job,
            build_warehouse_batch_job(warehouse_models),
            epcis_job,
            epcis_shipping_job,
            alerts_job,
            erp_inbound_job,
            *VERIFICATION_JOBS,
        ],
        schedules=[alerts_schedule],
        sensors=[
            new_line_data_sensor,
            new_lifecycle_events_sensor,
            new_shipments_sensor,
            erp_drop_sensor,
            *VERIFICATION_SENSORS,
        ],
        resources={
            "dbt": DbtCliResource(
                project_dir=str(TRANSFORMS_DIR),
                profiles_dir=str(TRANSFORMS_DIR),
                dbt_executable=DBT_EXECUTABLE,
            ),
            "warehouse": DuckDBWarehouse(path=str(home.warehouse)),
            "raw_zone": RawZone(path=str(home.raw)),
            "epcis_outbox": EpcisOutbox(path=str(home.epcis_outbox)),
            "alerts": AlertsResource(home=str(home.root)),
            "erp": ErpConnections(home=str(home.root)),
        },
    )
    return Definitions.merge(core, partner_definitions(home))


@dg.definitions
def defs() -> Definitions:
    """Loaded lazily by ``dagster dev -m orchestration.definitions``."""
    return build_definitions(resolve_home())
