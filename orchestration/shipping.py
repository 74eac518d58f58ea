"""Dagster: render each recorded shipment's DSCSA shipping files into the outbox.

``epcis_shipment_documents`` is partitioned by shipment (dynamic partitions ``shipments``);
``new_shipments_sensor`` registers the shipments ``serialtrace ship`` wrote to the raw
zone and asks for their rendering. Each partition writes the shipping file in EPCIS 1.2
XML (DSCSA), 2.0 XML and 2.0 JSON-LD, validated, under
``<outbox>/shipments/<shipment>/`` (every format: the partners' delivery picks the one
each partner takes); the Transaction History is carried when the buyer is a configured
partner with ``transaction_history = true`` or a shipped product requires it
(``[products]`` of partners.toml); the metadata says which entries required it.
"""

import json
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DynamicPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    asset,
    define_asset_job,
    sensor,
)

from epcis.shipping import render_shipment
from epcis.writers import FORMATS
from orchestration.resources import EpcisOutbox, RawZone
from serialtrace.settings import Home

shipment_partitions = DynamicPartitionsDefinition(name="shipments")

SHIPPING_INPUTS = [
    AssetKey(name)
    for name in ("aggregation_hierarchy", "containers", "serial_lifecycle", "dim_work_orders",
                 "dim_products", "dim_locations")
]  # fmt: skip

SHIPPING_JOB = "epcis_shipping_job"


def partner_wants_history(home: Home, shipment_id: str) -> bool:
    """Whether the shipment's buyer is a configured partner asking for the DSCSA
    Transaction History (``transaction_history`` in partners.toml)."""
    from epcis.shipping import load_shipment
    from partners.config import load_partners

    buyer = load_shipment(home, shipment_id)[0]["destination_party_gln"]
    return any(p.transaction_history for p in load_partners(home) if p.gln == buyer)


def shipment_home(raw_path: str) -> Home:
    """The data space whose raw zone is ``raw_path`` (a client's keeps its installation)."""
    return Home.at(Path(raw_path).parent)


@asset(
    partitions_def=shipment_partitions,
    deps=SHIPPING_INPUTS,
    group_name="epcis",
    owners=["team:serialization"],
    kinds={"xml", "json"},
)
def epcis_shipment_documents(
    context: AssetExecutionContext, raw_zone: RawZone, epcis_outbox: EpcisOutbox
) -> MaterializeResult[None]:
    """DSCSA shipping files of one shipment (commissioning, packing and the shipping event
    with PO, despatch advice, parties and Transaction Statement) in 1.2 XML, 2.0 XML and
    2.0 JSON-LD, each validated against the official schemas before it is placed."""
    home = shipment_home(raw_zone.path)
    rendered = render_shipment(
        home,
        context.partition_key,
        FORMATS,
        outbox=epcis_outbox.folder,
        # the partner asks for it, else the shipped products decide
        transaction_history=True if partner_wants_history(home, context.partition_key) else None,
    )
    for document in rendered.documents:
        context.log.info(f"wrote {document.path} ({document.events} events)")
    return MaterializeResult(
        metadata={
            "paths": MetadataValue.json([str(d.path) for d in rendered.documents]),
            "events": rendered.documents[0].events,
            "transaction_history": rendered.transaction_history,
            "history_required_by": MetadataValue.json(list(rendered.history_required_by)),
            "history_events": rendered.history_events,
            **rendered.counts,
        }
    )


epcis_shipping_job = define_asset_job(
    SHIPPING_JOB,
    selection=AssetSelection.assets(epcis_shipment_documents),
    partitions_def=shipment_partitions,
)


def shipment_ids(raw: Path) -> list[str]:
    """Shipments recorded in the raw zone (one file each)."""
    folder = raw / "shipments"
    if not folder.is_dir():
        return []
    return sorted(p.stem.removeprefix("part-") for p in folder.glob("part-*.parquet"))


@sensor(job_name=SHIPPING_JOB, minimum_interval_seconds=30)
def new_shipments_sensor(context: SensorEvaluationContext, raw_zone: RawZone) -> SensorResult:
    """New shipments: register their partition and render them."""
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    new = [s for s in shipment_ids(Path(raw_zone.path)) if s not in seen]
    return SensorResult(
        run_requests=[RunRequest(run_key=f"shipment-{s}", partition_key=s) for s in new],
        dynamic_partitions_requests=[shipment_partitions.build_add_request(new)] if new else [],
        cursor=json.dumps(sorted(seen | set(new))),
    )
