"""Shipments: quarantine locks refuse them, the raw zone records them, the DSCSA shipping
file is written in three formats, valid, with the same event hashes in each."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from alerts.locks import QuarantineLocks, container_key, item_key
from epcis.check import check_file
from epcis.documents import read_document, read_events
from epcis.event_hash import event_hash
from epcis.inbound import inbound_dir, ingest_file
from epcis.model import DocumentHeader, Location, ObjectEvent
from epcis.shipping import (
    ShipmentRefusedError,
    TransactionHistoryRequiredError,
    load_shipment,
    receipt_document,
    record_shipment,
    render_receipt,
    render_shipment,
    shipment_document,
    shipments_dir,
)
from epcis.writers import FORMATS, write_events
from serialtrace.demo import DemoResult
from serialtrace.errors import SerialtraceError, ValidationError
from serialtrace.gs1.epc import sscc_uri
from serialtrace.gs1.keys import gtin14_from_ndc
from serialtrace.settings import Home
from tests.epcis.partners_toml import write_partners_toml

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
        # serial_lifecycle is a view: without the shipment's applied events the units
        # show the status the line left them in again
        con.execute(
            "delete from int_lifecycle_events_replayed "
            "where event_id in (select status_event_id from serial_lifecycle "
            "where status = 'shipped')"
        )
        assert con.execute(
            "select count(*) from serial_lifecycle where status = 'shipped'"
        ).fetchall() == [(0,)]
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


# --- Transaction History, receiving, rework -------------------------------------------

PRIOR_OWNER = "urn:epc:id:sgln:0614141.00009.0"  # not in our master data: from its file


def _shipment(home: Home, result: DemoResult) -> str:
    return record_shipment(home, result.work_order_id, CUSTOMER, po_number="PO-9").shipment_id


def _prior_owner_file(home: Home, shipment_id: str, path: Path) -> Path:
    """A prior owner's EPCIS 1.2 file: it sold us the shipped pallets (shipping event, with
    its PO and despatch advice, owning parties) and commissioned a pallet we never had."""
    header, events, _ = shipment_document(home, shipment_id)
    ours = next(e for e in events if isinstance(e, ObjectEvent) and e.biz_step == "shipping")
    site = ours.read_point
    assert site is not None
    prior = Location(PRIOR_OWNER, "Prior Owner Pharma", "1 Old Road", "Trenton", "NJ",
                     "08601", "US")  # fmt: skip
    ours_here = next(x for x in header.locations if x.sgln == site)
    when = datetime(2024, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    sold = ObjectEvent(
        when, "OBSERVE", "shipping", "in_transit", ours.epcs, PRIOR_OWNER, None,
        biz_transactions=(("po", "urn:epcglobal:cbv:bt:0614141000098:PO-OLD-1"),),
        sources=(("owning_party", PRIOR_OWNER),),
        destinations=(("owning_party", site),),
    )  # fmt: skip
    other = ObjectEvent(
        when, "OBSERVE", "shipping", "in_transit", ("urn:epc:id:sscc:0614141.0999999999",),
        PRIOR_OWNER, None,
    )  # fmt: skip
    prior_header = DocumentHeader(
        PRIOR_OWNER, site, "PRIOR-1", when, (), (prior, ours_here)
    )  # fmt: skip
    write_events(path, prior_header, [sold, other], "1.2-xml")
    return path


def test_transaction_history_carries_the_prior_owners_shipping_events(
    unshipped: tuple[Home, DemoResult], tmp_path: Path
) -> None:
    home, result = unshipped
    shipment_id = _shipment(home, result)
    plain = render_shipment(home, shipment_id, ("2.0-jsonld",), outbox=tmp_path / "plain")
    assert plain.history_events == 0  # we made it: no prior transaction, none asked
    ingest_file(home, _prior_owner_file(home, shipment_id, tmp_path / "prior.xml"),
                partner_id="prior-owner")  # fmt: skip
    with duckdb.connect() as con:
        (inbound_hash,) = con.execute(
            "select event_hash from read_parquet(?) where biz_step like '%shipping' "
            "and event_index = 0",
            [str(inbound_dir(home) / "*" / "events.parquet")],
        ).fetchone() or ("",)
    rendered = render_shipment(
        home, shipment_id, FORMATS, outbox=tmp_path / "th", transaction_history=True
    )
    assert rendered.history_events == 1  # the pallet it never shipped us is not history
    for document in rendered.documents:
        assert check_file(document.path).valid, document.path
        events = list(read_events(document.path))
        assert event_hash(events[0].node) == inbound_hash  # carried unchanged
        assert len(events) == plain.documents[0].events + 1
        header, _ = read_document(document.path)
        locations = {key for v in header.vocabularies for key, _ in v.elements}
        assert PRIOR_OWNER in locations  # its master data came with its file
    # the CLI: --partner takes the partner's transaction_history (acme-sftp: true)
    from serialtrace.cli import main

    out = tmp_path / "cli"
    args = ["epcis", "render", "--shipment", shipment_id, "--home", str(home.root)]
    assert main([*args, "--partner", "acme-sftp", "--outbox", str(out)]) == 0
    (written,) = out.rglob("*.epcis-1.2.xml")
    assert event_hash(next(iter(read_events(written))).node) == inbound_hash
    assert main([*args, "--partner", "acme-sftp", "--no-transaction-history",
                 "--outbox", str(tmp_path / "cli2")]) == 0  # fmt: skip
    (without,) = (tmp_path / "cli2").rglob("*.epcis-1.2.xml")
    assert event_hash(next(iter(read_events(without))).node) != inbound_hash


def test_a_product_that_requires_the_history_gets_it_whoever_the_buyer_is(
    unshipped: tuple[Home, DemoResult], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, result = unshipped
    shipment_id = _shipment(home, result)
    ingest_file(home, _prior_owner_file(home, shipment_id, tmp_path / "prior.xml"),
                partner_id="prior-owner")  # fmt: skip
    other = gtin14_from_ndc("12345-678-91")  # another product of the master, not shipped
    with duckdb.connect(str(home.warehouse)) as con:
        (ours,) = con.execute(
            "select gtin from dim_work_orders where work_order_id = ?", [result.work_order_id]
        ).fetchone() or ("",)
        con.execute(
            "insert into dim_products select * replace (? as gtin, '12345-678-91' as ndc, "
            "'12345067891' as ndc11) from dim_products where gtin = ?",
            [other, ours],
        )
    jsonld = ("2.0-jsonld",)
    # no partner asks for it (transaction_history = false) and another product requires it
    write_partners_toml(home, f'transaction_history_gtins = ["{other}"]')
    plain = render_shipment(home, shipment_id, jsonld, outbox=tmp_path / "other")
    assert (plain.transaction_history, plain.history_events, plain.history_required_by) == (
        False, 0, (),
    )  # fmt: skip
    # the shipped product requires it, by GTIN or by NDC: carried, the entry named
    for setting, entry in (
        (f'transaction_history_gtins = ["{other}", "{ours}"]',
         f"products.transaction_history_gtins[1] = {ours}"),
        ('transaction_history_ndcs = ["12345-678-90"]',
         f"products.transaction_history_ndcs[0] = 12345-678-90 (GTIN {ours})"),
    ):  # fmt: skip
        write_partners_toml(home, setting)
        rendered = render_shipment(home, shipment_id, jsonld, outbox=tmp_path / "required")
        assert (rendered.transaction_history, rendered.history_required_by) == (True, (entry,))
        assert rendered.history_events == 1  # the prior owner's shipping event
        assert check_file(rendered.documents[0].path).valid
        assert len(list(read_events(rendered.documents[0].path))) == plain.documents[0].events + 1
    # an explicit "no" does not override a product requirement: refused, nothing written
    with pytest.raises(TransactionHistoryRequiredError, match=r"transaction_history_ndcs\[0\]"):
        render_shipment(home, shipment_id, jsonld, outbox=tmp_path / "no",
                        transaction_history=False)  # fmt: skip
    assert not (tmp_path / "no").exists()
    from serialtrace.cli import main

    args = ["epcis", "render", "--shipment", shipment_id, "--home", str(home.root),
            "--partner", "acme-sftp"]  # fmt: skip
    assert main([*args, "--outbox", str(tmp_path / "cli")]) == 0
    assert "required by products.transaction_history_ndcs[0]" in capsys.readouterr().out
    assert main([*args, "--no-transaction-history", "--outbox", str(tmp_path / "no")]) != 0
    assert "the product requirement wins" in capsys.readouterr().err
    # an entry naming no product of the master is refused, naming the entry
    unknown = gtin14_from_ndc("12345-678-92")
    write_partners_toml(home, f'transaction_history_gtins = ["{other}", "{unknown}"]')
    with pytest.raises(ValidationError, match=rf"gtins\[1\]: GTIN {unknown} is not in the product"):
        render_shipment(home, shipment_id, jsonld, outbox=tmp_path / "unknown")


def test_receipt_and_return_documents(unshipped: tuple[Home, DemoResult], tmp_path: Path) -> None:
    home, result = unshipped
    shipment_id = _shipment(home, result)
    shipped = load_shipment(home, shipment_id)
    later = shipped[0]["despatched_at"] + timedelta(days=2)
    receipt = render_receipt(home, shipment_id, received_at=later, outbox=tmp_path)
    back = render_receipt(
        home, shipment_id, received_at=later, returned=True, rma="RMA-77", outbox=tmp_path
    )
    for document in (*receipt, *back):
        assert check_file(document.path).valid, document.path
    hashes = {event_hash(next(iter(read_events(d.path))).node) for d in receipt}
    assert len(hashes) == 1  # the same event in the three formats
    jsonld = [d.path for d in (*receipt, *back) if d.format == "2.0-jsonld"]
    got, returned = (json.loads(p.read_text()) for p in jsonld)
    (event,) = got["epcisBody"]["eventList"]
    assert (event["action"], event["bizStep"], event["disposition"]) == (
        "OBSERVE", "receiving", "in_progress",
    )  # fmt: skip
    assert len(event["epcList"]) == result.pallets
    assert event["bizLocation"]["id"] == event["destinationList"][1]["destination"]
    assert [t["type"] for t in event["bizTransactionList"]] == ["po", "desadv"]
    assert got["sender"] == event["destinationList"][0]["destination"]  # the buyer tells us
    (ret,) = returned["epcisBody"]["eventList"]
    assert ret["bizLocation"]["id"] == ret["destinationList"][1]["destination"]
    assert ret["sourceList"] == [
        {"type": s["type"], "source": d["destination"]}
        for s, d in zip(event["sourceList"], event["destinationList"], strict=True)
    ]  # mirrored: the goods come back from the buyer
    assert ret["bizTransactionList"][-1] == {
        "type": "rma",
        "bizTransaction": f"urn:epcglobal:cbv:bt:{shipped[0]['source_party_gln']}:RMA-77",
    }
    with pytest.raises(SerialtraceError, match="before the shipment left"):
        receipt_document(home, shipment_id, received_at=later - timedelta(days=30))
    from serialtrace.cli import main  # the CLI writes the same receipt

    assert main(["epcis", "receipt", "--shipment", shipment_id, "--home", str(home.root),
                 "--received-at", later.isoformat(), "--format", "2.0-jsonld",
                 "--outbox", str(tmp_path / "cli")]) == 0  # fmt: skip
    (by_cli,) = (tmp_path / "cli").rglob("*.jsonld")
    assert json.loads(by_cli.read_text())["epcisBody"] == got["epcisBody"]
    with pytest.raises(SerialtraceError, match="belongs to a return"):
        receipt_document(home, shipment_id, received_at=later, rma="RMA-1")


def test_rework_moves_are_unpacked_in_the_shipping_file(
    unshipped: tuple[Home, DemoResult], tmp_path: Path
) -> None:
    """A unit packed into one case, unpacked in rework, packed into another: the shipping
    file packs and unpacks it before the current packing (in every format)."""
    home, result = unshipped
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute("create table line_aggs as select * from stg_line__aggregations")
        con.execute("drop view stg_line__aggregations")
        con.execute("create table stg_line__aggregations as select * from line_aggs")
        first, second = con.execute(
            "select distinct parent_sscc from stg_line__aggregations "
            "where child_level = 'item' order by 1 limit 2"
        ).fetchall()
        key, serial = con.execute(
            "select child_key, child_serial from stg_line__aggregations where parent_sscc = ? "
            "and child_level = 'item' order by child_key limit 1",
            [second[0]],
        ).fetchone() or ("", "")
        for action, seconds in (("ADD", 120), ("DELETE", 60)):
            con.execute(
                "insert into stg_line__aggregations select * replace (? as parent_sscc, "
                "? as action, aggregated_at - to_seconds(?) as aggregated_at) "
                "from line_aggs where parent_sscc = ? and child_key = ?",
                [first[0], action, seconds, second[0], key],
            )
    shipment_id = _shipment(home, result)
    rendered = render_shipment(home, shipment_id, FORMATS, outbox=tmp_path)
    assert rendered.counts["rework_moves"] == 1
    for document in rendered.documents:
        assert check_file(document.path).valid
    document = json.loads(
        next(d.path for d in rendered.documents if d.format == "2.0-jsonld").read_text()
    )
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        (cpl,) = con.execute("select max(company_prefix_length) from dim_products").fetchone() or (
            0,
        )
    steps = [
        (e["bizStep"], e["action"], e["parentID"])
        for e in document["epcisBody"]["eventList"]
        if e["type"] == "AggregationEvent" and any(serial in c for c in e["childEPCs"])
    ]
    old, new = sscc_uri(first[0], int(cpl)), sscc_uri(second[0], int(cpl))
    assert steps == [("packing", "ADD", old), ("unpacking", "DELETE", old), ("packing", "ADD", new)]
