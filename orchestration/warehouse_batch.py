"""The data-triggered warehouse run: only what new line data touches.

The sensors that notice new line-bridge output or new lifecycle events request
``warehouse_batch_job`` rather than the whole ``warehouse_job``: the dbt models selected
by the dbt selector ``new_line_data`` (transforms/selectors.yml: every model that
depends on line streams, serial allocations or lifecycle events, and the models they
read) with the data tests of the models that depend on line data as asset checks. The
dbt unit tests and the tests of the master-data models are left to the full build
(``serialtrace materialize``, the nightly run, CI). docs/warehouse.md, "A
data-triggered build".
"""

from typing import Any

from dagster import AssetsDefinition, define_asset_job
from dagster_dbt import build_dbt_asset_selection

WAREHOUSE_BATCH_JOB = "warehouse_batch_job"
NEW_LINE_DATA_SELECTOR = "new_line_data"


def build_warehouse_batch_job(warehouse_models: AssetsDefinition) -> Any:
    """The job the line-data and lifecycle-event sensors request."""
    selection = build_dbt_asset_selection([warehouse_models], dbt_selector=NEW_LINE_DATA_SELECTOR)
    return define_asset_job(
        WAREHOUSE_BATCH_JOB,
        selection=selection,
        description=(
            "Rebuild what new line data touches (dbt selector new_line_data): the changed"
            " batches of the batch-incremental models, the small tables they read, the"
            " data tests of the models that depend on line data."
        ),
    )
