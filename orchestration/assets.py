"""Assets downstream of the warehouse: EPCIS documents per batch."""

from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AutomationCondition,
    DynamicPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from epcis.from_warehouse import render_batch_epcis_12, render_pending_decommissions
from epcis.lineage import record_lineage
from orchestration.dbt import dbt_project
from orchestration.resources import DuckDBWarehouse, EpcisOutbox, RawZone

work_order_partitions = DynamicPartitionsDefinition(name="work_orders")

EPCIS_INPUTS = [
    AssetKey(name)
    for name in (
        "serial_lifecycle",
        "containers",
        "aggregation_hierarchy",
        "dim_work_orders",
        "dim_products",
        "dim_locations",
    )
]


@asset(
    partitions_def=work_order_partitions,
    deps=EPCIS_INPUTS,
    group_name="epcis",
    owners=["team:serialization"],
    kinds={"xml"},
    automation_condition=AutomationCondition.eager(),
)
def epcis_batch_document(
    context: AssetExecutionContext,
    warehouse: DuckDBWarehouse,
    epcis_outbox: EpcisOutbox,
    raw_zone: RawZone,
) -> MaterializeResult[None]:
    """EPCIS 1.2 (GS1 US DSCSA profile) document of one batch: commissioning of passed
    units and containers, packing events, decommissioning of line rejects; validated
    against the official XSD before it is placed in the outbox."""
    document = render_batch_epcis_12(
        Path(warehouse.path), context.partition_key, epcis_outbox.folder
    )
    context.log.info(f"wrote {document.path} ({document.stats.bytes_written} bytes)")
    sidecar = record_lineage(
        Path(raw_zone.path).parent,
        document.path,
        [context.partition_key],
        [key.path[-1] for key in EPCIS_INPUTS],
        dbt_project.manifest_path,
    )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(document.path)),
            "lineage": MetadataValue.path(str(sidecar)),
            "commissioned_units": document.commissioned,
            "decommissioned_units": document.decommissioned,
            "cases": document.cases,
            "pallets": document.pallets,
            "events": document.stats.events,
        }
    )


@asset(
    deps=[AssetKey("serial_status_history"), *EPCIS_INPUTS],
    group_name="epcis",
    owners=["team:serialization"],
    kinds={"xml"},
    automation_condition=AutomationCondition.eager(),
)
def epcis_decommission_documents(
    context: AssetExecutionContext, warehouse: DuckDBWarehouse, epcis_outbox: EpcisOutbox
) -> MaterializeResult[None]:
    """EPCIS 1.2 documents of post-line decommissionings (serialtrace serials decommission),
    one per request not rendered yet, validated against the official XSD."""
    documents = render_pending_decommissions(Path(warehouse.path), epcis_outbox.folder)
    for document in documents:
        context.log.info(f"wrote {document.path} ({document.decommissioned} units)")
    return MaterializeResult(
        metadata={
            "documents": len(documents),
            "decommissioned_units": sum(d.decommissioned for d in documents),
            "paths": MetadataValue.json([str(d.path) for d in documents]),
        }
    )
