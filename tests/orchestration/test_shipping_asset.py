"""The Dagster asset `epcis_shipment_documents` executed for one shipment of a test home:
the outbox holds the shipping file in the three formats, each valid, with equal event hashes."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from dagster import DagsterInstance, ExecuteInProcessResult, materialize

from epcis.check import check_file
from epcis.documents import read_events
from epcis.event_hash import event_hash
from epcis.shipping import shipments_dir
from orchestration.resources import EpcisOutbox, RawZone
from orchestration.shipping import epcis_shipment_documents, partner_wants_history, shipment_home
from serialtrace.demo import DemoResult
from serialtrace.gs1.keys import gtin14_from_ndc
from serialtrace.settings import Home
from tests.epcis.partners_toml import write_partners_toml


def test_materializing_the_shipment_asset_writes_the_outbox(
    demo: tuple[Home, DemoResult], tmp_path: Path
) -> None:
    source, result = demo
    home = Home(tmp_path / "home")
    home.raw.mkdir(parents=True)
    shutil.copyfile(source.warehouse, home.warehouse)
    shutil.copytree(shipments_dir(source), shipments_dir(home))
    with duckdb.connect() as con:
        (shipment_id,) = con.execute(
            "select distinct shipment_id from read_parquet(?)",
            [str(shipments_dir(home) / "*.parquet")],
        ).fetchone() or ("",)
    outbox = tmp_path / "outbox"
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("shipments", [shipment_id])

    def run_asset(outbox: Path) -> ExecuteInProcessResult:
        return materialize(
            [epcis_shipment_documents],
            partition_key=shipment_id,
            instance=instance,
            resources={
                "raw_zone": RawZone(path=str(home.raw)),
                "epcis_outbox": EpcisOutbox(path=str(outbox)),
            },
        )

    run = run_asset(outbox)
    assert run.success
    files = sorted((outbox / "shipments" / shipment_id).iterdir())
    assert [p.name for p in files] == [
        f"{shipment_id}.epcis-1.2.xml",
        f"{shipment_id}.epcis-2.0.jsonld",
        f"{shipment_id}.epcis-2.0.xml",
    ]
    hashes = []
    for path in files:
        assert check_file(path).valid, path
        hashes.append([event_hash(e.node) for e in read_events(path)])
    assert hashes[0] == hashes[1] == hashes[2]
    assert len(hashes[0]) > 2  # commissioning, packing, shipping
    (materialization,) = [e.materialization for e in run.get_asset_materialization_events()]
    metadata = materialization.metadata
    assert metadata["units"].value == result.passed
    assert metadata["pallets"].value == result.pallets
    # the buyer is acme-sftp of the embedded partners: it asks for the Transaction History,
    # which is empty for product we made ourselves
    assert metadata["transaction_history"].value is True
    assert metadata["history_required_by"].value == []
    assert metadata["history_events"].value == 0
    assert not list(tmp_path.glob("home/epcis/outbox/*"))  # only the resource's outbox
    # no partner asks for it, the shipped product requires it: carried, the entry named
    write_partners_toml(home, 'transaction_history_ndcs = ["12345-678-90"]')
    assert not partner_wants_history(home, shipment_id)
    run = run_asset(tmp_path / "outbox2")
    (materialization,) = [e.materialization for e in run.get_asset_materialization_events()]
    assert materialization.metadata["transaction_history"].value is True
    gtin = gtin14_from_ndc("12345-678-90")  # the demo product
    assert materialization.metadata["history_required_by"].value == [
        f"products.transaction_history_ndcs[0] = 12345-678-90 (GTIN {gtin})"
    ]


def test_the_asset_keeps_a_client_data_space(tmp_path: Path) -> None:
    installation = Home(tmp_path / "inst")
    client = installation.client("acme-pharma")
    assert shipment_home(str(client.raw)) == client
    assert shipment_home(str(installation.raw)) == installation
