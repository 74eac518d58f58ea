"""Shipments: quarantine locks refuse them, the raw zone records them, the DSCSA shipping
file is written in three formats, valid, with the same event hashes in each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from alerts.locks import QuarantineLocks, container_key, item_key
from epcis.check import check_file
from epcis.documents import read_document, read_events
from epcis.event_hash import event_hash
from epcis.shipping import ShipmentRefusedError, record_shipment, render_shipment, shipments_dir
from serialtrace.demo import DemoResult
from serialtrace.settings import Home

CUSTOMER = "0614141000012"  # [customer] of serialtrace/defaults/demo.toml


def _shipping_files(home: Home) -> list[Path]:
    return sorted((home.epcis_outbox / "shipments").glob("*/*.epcis-*"))


def test_demo_ships_its_pallets_in_three_valid_formats(demo: tuple[Home, DemoResult]) -> None:
    home, result = demo
    files = _shipping_files(home)
    assert sorted(p.name.split(".epcis-")[1] for p in files) == [
        "1.2.xml",
        "2.0.jsonld",
        "2.0.xml",
    ]
    hashes = []
    for path in files:
        assert check_file(path).valid, path
        hashes.append([event_hash(e.node) for e in read_events(path)])
    assert hashes[0] == hashes[1] == hashes[2]
    # the raw zone has the shipment, to the demo customer, with every pallet
    with duckdb.connect() as con:
        rows = con.execute(
            "select distinct destination_party_gln, level, work_order_id from read_parquet(?)",
            [str(shipments_dir(home) / "*.parquet")],
        ).fetchall()
    assert rows == [(CUSTOMER, "pallet", result.work_order_id)]
    jsonld = next(p for p in files if p.suffix == ".jsonld")
    document = json.loads(jsonld.read_text())
    shipping = document["epcisBody"]["eventList"][-1]
    assert (shipping["action"], shipping["bizStep"], shipping["disposition"]) == (
        "OBSERVE",
        "shipping",
        "in_transit",
    )
    assert "bizLocation" not in shipping
    assert [t["type"] for t in shipping["bizTransactionList"]] == ["po", "desadv"]
    assert {s["type"] for s in shipping["sourceList"]} == {"owning_party", "location"}
    assert len(shipping["epcList"]) == result.pallets
    header, _ = read_document(next(p for p in files if p.name.endswith("1.2.xml")))
    assert any(x.name.endswith("dscsaTransactionStatement") for x in header.extras)
    # self-contained: every unit shipped is commissioned (with lot ILMD) in the file
    commissioned = sum(
        len(e.get("epcList", []))
        for e in document["epcisBody"]["eventList"]
        if e.get("bizStep") == "commissioning" and "ilmd" in e
    )
    assert commissioned == result.passed


@pytest.fixture
def unshipped(demo: tuple[Home, DemoResult], tmp_path: Path) -> tuple[Home, DemoResult]:
    """A copy of the demo home as before its shipment: warehouse (units back to the
    status they shipped from) and lifecycle zone without the shipment's events."""
    source, result = demo
    home = Home(tmp_path / "home")
    home.raw.mkdir(parents=True)
    shutil.copyfile(source.warehouse, home.warehouse)
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute("update serial_lifecycle set status = 'aggregated' where status = 'shipped'")
    shutil.copytree(source.raw / "lifecycle", home.raw / "lifecycle")
    for part in (home.raw / "lifecycle" / "events").glob("part-shipment-*"):
        part.unlink()
    return home, result


def _case_and_unit(home: Home, work_order_id: str) -> tuple[str, tuple[str, str]]:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        row = con.execute(
            "select case_sscc, gtin, serial from serial_lifecycle where work_order_id = ? "
            "and case_sscc is not null order by serial limit 1",
            [work_order_id],
        ).fetchone()
    assert row is not None
    return str(row[0]), (str(row[1]), str(row[2]))


@pytest.mark.parametrize("what", ["case", "unit"])
def test_a_quarantine_lock_refuses_the_shipment_naming_the_case(
    unshipped: tuple[Home, DemoResult], what: str
) -> None:
    home, result = unshipped
    case, (gtin, serial) = _case_and_unit(home, result.work_order_id)
    key = container_key(case) if what == "case" else item_key(gtin, serial)
    locks = QuarantineLocks(home.alerts_db)
    locks.lock("QC-2026-0042", [key], reason="temperature excursion", user="qa")
    lifecycle_before = sorted((home.raw / "lifecycle" / "events").iterdir())
    with pytest.raises(ShipmentRefusedError, match="QC-2026-0042"):
        record_shipment(home, result.work_order_id, CUSTOMER)
    assert not list(shipments_dir(home).glob("*.parquet"))  # nothing half-recorded
    assert sorted((home.raw / "lifecycle" / "events").iterdir()) == lifecycle_before
    locks.release("QC-2026-0042", user="qa")
    shipment = record_shipment(home, result.work_order_id, CUSTOMER, po_number="PO-7")
    assert shipment.units == result.passed
    with pytest.raises(ShipmentRefusedError, match="no container left"):
        record_shipment(home, result.work_order_id, CUSTOMER)


def test_unknown_partner_is_refused(unshipped: tuple[Home, DemoResult]) -> None:
    home, result = unshipped
    with pytest.raises(ShipmentRefusedError, match="not in dim_locations"):
        record_shipment(home, result.work_order_id, "0999999000009")


def test_render_with_explicit_receiver_and_format(unshipped: tuple[Home, DemoResult]) -> None:
    home, result = unshipped
    shipment = record_shipment(home, result.work_order_id, CUSTOMER, po_number="PO-8")
    rendered = render_shipment(home, shipment.shipment_id, ("2.0-jsonld",), receiver_gln=CUSTOMER)
    (document,) = rendered.documents
    assert document.format == "2.0-jsonld" and check_file(document.path).valid
    assert json.loads(document.path.read_text())["receiver"].startswith("urn:epc:id:sgln:0614141")


def test_render_for_a_partner_uses_its_gln_and_format(
    demo: tuple[Home, DemoResult], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from serialtrace.cli import main

    home, _ = demo
    with duckdb.connect() as con:
        (shipment_id,) = con.execute(
            "select distinct shipment_id from read_parquet(?)",
            [str(shipments_dir(home) / "*.parquet")],
        ).fetchall()[0]
    out = tmp_path / "outbox"
    args = ["epcis", "render", "--shipment", shipment_id, "--home", str(home.root)]
    # acme-sftp (embedded demo partners): GLN 0614141000012, EPCIS 1.2 XML
    assert main([*args, "--partner", "acme-sftp", "--outbox", str(out)]) == 0
    written = sorted(out.rglob("*.epcis-*"))
    assert [p.name.split(".epcis-")[1] for p in written] == ["1.2.xml"]
    header, _ = read_document(written[0])
    assert header.receiver == "urn:epc:id:sgln:0614141.00001.0"  # SGLN of GLN CUSTOMER
    assert main([*args, "--partner", "acme-sftp", "--to", "0614141000029"]) != 0
    assert "is not partner acme-sftp's GLN" in capsys.readouterr().err
    assert main([*args, "--partner", "nobody"]) != 0
    assert "unknown partner 'nobody'" in capsys.readouterr().err
