"""Decommissioning after the line: resolve the target set, check every serial against the
state machine (warehouse status + events the warehouse has not seen), refuse whole
requests, record one part file, rebuild, render the EPCIS decommission documents."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from lxml import etree
from rawzone import GTIN_A, GTIN_B  # type: ignore[import-not-found]

from epcis.from_warehouse import (
    DecommissionDocument,
    render_batch_epcis_12,
    render_decommission_epcis_12,
    render_pending_decommissions,
)
from epcis.validate import validate_epcis_file
from serialtrace.cli import main
from serialtrace.errors import ConfigurationError, SerialtraceError, ValidationError
from serialtrace.lifecycle.decommission import (
    DecommissionRefusedError,
    DecommissionResult,
    decommission,
)
from serialtrace.lifecycle.store import events_dir
from serialtrace.users import UserStore

from .conftest import ClosedHome, closed_home

BIZSTEP = "urn:epcglobal:cbv:bizstep:"
DISP = "urn:epcglobal:cbv:disp:"


@dataclass
class Flow:
    closed: ClosedHome
    pallet: DecommissionResult
    serial: DecommissionResult
    refused_again: DecommissionRefusedError
    refused_lot: DecommissionRefusedError
    files_after_refusals: int
    documents: list[DecommissionDocument]

    @property
    def home_args(self) -> list[str]:
        return ["--home", str(self.closed.home.root)]


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    closed = closed_home(tmp_path_factory.mktemp("decommission-home"))
    closed.build()
    home, demo = closed.home, closed.demo
    users = UserStore(home.users_db)  # the CLI acts as a user of the store (acting.py)
    for name in ("qa.jane", "qa"):
        users.add(name, "password1", full_name=name, roles=["quality"], by="test")
    pallet = decommission(
        home.warehouse, home.raw, "sscc", demo.wo1.pallets[0], "destroyed", "qa.jane"
    )
    serial = decommission(
        home.warehouse, home.raw, "serial", f"{GTIN_A}:{demo.moved_serial}", "stolen", "qa.joe"
    )
    inside = demo.wo1.case_items[demo.wo1.cases[0]][1]  # destroyed with pallet 1, not built
    with pytest.raises(DecommissionRefusedError) as again:
        decommission(home.warehouse, home.raw, "serial", f"{GTIN_A}:{inside}", "sample", "qa.joe")
    with pytest.raises(DecommissionRefusedError) as lot:
        decommission(home.warehouse, home.raw, "lot", f"{GTIN_B}:LB001", "returned", "qa.joe")
    files = len(list(events_dir(home.raw).glob("*.parquet")))
    closed.build()
    documents = render_pending_decommissions(home.warehouse, home.epcis_outbox)
    return Flow(closed, pallet, serial, again.value, lot.value, files, documents)


def query(flow: Flow, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(flow.closed.home.warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_a_pallet_means_every_item_inside(flow: Flow) -> None:
    result = flow.pallet
    assert (result.scope, result.scope_id, result.reason) == (
        "pallet",
        flow.closed.demo.wo1.pallets[0],
        "destroyed",
    )
    assert len(result.decommissioned) == 38  # 9 + 10 + 9 + 10 items in 4 cases
    assert {t.status for t in result.decommissioned} == {"aggregated"}
    assert result.path is not None
    rows = pq.read_table(result.path).to_pylist()
    assert len(rows) == 38 and {r["request_id"] for r in rows} == {result.request_id}
    assert {(r["scope"], r["source"], r["recorded_by"], r["reason"]) for r in rows} == {
        ("pallet", "cli", "qa.jane", "destroyed")
    }
    assert {r["location_gln"] for r in rows} == {flow.closed.demo.wo1.spec.site_gln}


def test_pending_events_count_before_the_warehouse_sees_them(flow: Flow) -> None:
    (offender,) = flow.refused_again.offenders
    assert (offender.from_state, offender.to_state) == ("decommissioned", "decommissioned")
    assert "decommissioned is final" in str(flow.refused_again)


def test_one_illegal_serial_refuses_the_whole_request(flow: Flow) -> None:
    refusal = flow.refused_lot
    assert refusal.total == 37  # the 37 packed units; 4 rejects + 9 unused are skipped
    assert len(refusal.offenders) == 37
    assert {(e.from_state, e.reason) for e in refusal.offenders} == {("aggregated", "returned")}
    message = str(refusal)
    assert message.startswith("decommissioning (returned) refused, nothing written: 37 of 37")
    assert "and 27 more" in message
    assert flow.files_after_refusals == 3 + 2  # 3 batch closes + 2 requests


def test_the_warehouse_applies_the_events(flow: Flow) -> None:
    rows = query(
        flow,
        "select status, status_reason, status_recorded_by, count(*) from serial_lifecycle "
        "where work_order_id = 'WO-1001' and status_source = 'lifecycle' "
        "group by all order by 1, 2",
    )
    assert rows == [
        ("decommissioned", "destroyed", "qa.jane", 38),
        ("decommissioned", "stolen", "qa.joe", 1),
    ]
    # the line's story is kept beside it
    assert query(
        flow,
        "select line_status, count(*) from serial_lifecycle where status_source = 'lifecycle' "
        "and work_order_id = 'WO-1001' group by all",
    ) == [("aggregated", 39)]
    history = query(
        flow,
        "select from_status, to_status, reason, origin, scope, recorded_by "
        "from serial_status_history where unit_key = ? order by transition_seq",
        f"(01){GTIN_A}(21){flow.closed.demo.moved_serial}",
    )
    assert history[-3:] == [
        ("aggregated", "commissioned", None, "line", "case", None),
        ("commissioned", "aggregated", None, "line", "case", None),
        ("aggregated", "decommissioned", "stolen", "cli", "serial", "qa.joe"),
    ]


def test_decommission_documents_are_valid_and_use_the_lifecycle_words(flow: Flow) -> None:
    by_request = {d.requests[0]: d for d in flow.documents}
    assert set(by_request) == {flow.pallet.request_id, flow.serial.request_id}  # no unused
    pallet_doc = by_request[flow.pallet.request_id]
    assert validate_epcis_file(pallet_doc.path).valid
    assert (pallet_doc.decommissioned, pallet_doc.containers) == (38, 5)
    tree: Any = etree.parse(str(pallet_doc.path))
    (event,) = tree.xpath("//EventList/*")
    assert event.tag == "ObjectEvent" and event.findtext("action") == "DELETE"
    assert event.findtext("bizStep") == BIZSTEP + "destroying"
    assert event.findtext("disposition") == DISP + "destroyed"
    epcs = [e.text for e in event.xpath("epcList/epc")]
    assert sum(e.startswith("urn:epc:id:sgtin:") for e in epcs) == 38
    assert sum(e.startswith("urn:epc:id:sscc:") for e in epcs) == 5  # pallet + 4 cases
    assert event.findtext("baseExtension/eventID") == f"urn:uuid:{flow.pallet.request_id}"
    assert event.findtext("{urn:serialtrace:epcis:1}reason") == "destroyed"

    serial_doc = by_request[flow.serial.request_id]
    assert validate_epcis_file(serial_doc.path).valid
    serial_tree: Any = etree.parse(str(serial_doc.path))
    unpack, retire = serial_tree.xpath("//EventList/*")
    assert unpack.tag == "AggregationEvent" and unpack.findtext("action") == "DELETE"
    assert unpack.findtext("bizStep") == BIZSTEP + "unpacking"
    assert unpack.findtext("parentID").endswith(flow.closed.demo.wo1.cases[5][8:17])
    assert retire.findtext("bizStep") == BIZSTEP + "decommissioning"
    assert retire.findtext("disposition") == DISP + "stolen"
    assert len(retire.xpath("epcList/epc")) == 1


def test_rendering_again_renders_nothing_new(flow: Flow) -> None:
    home = flow.closed.home
    assert render_pending_decommissions(home.warehouse, home.epcis_outbox) == []
    everything = render_decommission_epcis_12(home.warehouse, home.epcis_outbox, name="all")
    assert everything is not None and everything.decommissioned == 39
    assert everything.by_reason == {"destroyed": 38, "stolen": 1}


def test_the_batch_document_still_tells_the_line_story(flow: Flow, tmp_path: Path) -> None:
    document = render_batch_epcis_12(flow.closed.home.warehouse, "WO-1001", tmp_path)
    assert (document.commissioned, document.decommissioned) == (54, 6)
    assert validate_epcis_file(document.path).valid


# --- the command line -------------------------------------------------------------------


def test_cli_dry_run_json(flow: Flow, capsys: pytest.CaptureFixture[str]) -> None:
    before = sorted(events_dir(flow.closed.home.raw).glob("*.parquet"))
    code = main(
        [
            "serials",
            "decommission",
            "--lot",
            f"{GTIN_B}:LB001",
            "--reason",
            "recalled",
            "--user",
            "qa.jane",
            "--dry-run",
            "--json",
            *flow.home_args,
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["refused"], out["dry_run"], out["scope"], out["decommissioned"]) == (
        False,
        True,
        "lot",
        37,
    )
    assert out["scope_id"] == f"(01){GTIN_B}(10)LB001"
    assert len(out["skipped"]) == 13 and out["path"] is None
    assert sorted(events_dir(flow.closed.home.raw).glob("*.parquet")) == before


def test_cli_refusal_json_lists_the_offenders(
    flow: Flow, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["serials", "decommission", "--sscc", flow.closed.demo.wo2.cases[0]]
    code = main([*args, "--reason", "returned", "--user", "qa", "--json", *flow.home_args])
    assert code == 2
    out = json.loads(capsys.readouterr().out)
    assert out["refused"] and out["checked"] == 12 and len(out["offenders"]) == 12
    assert out["offenders"][0]["from_status"] == "aggregated"


def test_cli_errors_are_one_line(flow: Flow, capsys: pytest.CaptureFixture[str]) -> None:
    pallet = flow.closed.demo.wo1.pallets[0]
    args = ["serials", "decommission", "--sscc", pallet, "--reason", "stolen", "--user", "qa"]
    assert main([*args, *flow.home_args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("serialtrace: error: pallet ") and "already final" in err
    assert len(err.splitlines()) == 1


def test_cli_records_a_case(flow: Flow, capsys: pytest.CaptureFixture[str]) -> None:
    case = flow.closed.demo.wo2.cases[3]  # the partial case: 1 item
    args = ["serials", "decommission", "--sscc", case, "--reason", "sample", "--user", "qa"]
    assert main([*args, *flow.home_args]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"decommissioned 1 serial(s) of case {case} (sample, by qa)")


def test_bad_requests(flow: Flow, tmp_path: Path) -> None:
    home = flow.closed.home
    with pytest.raises(ValidationError, match="--reason"):
        decommission(home.warehouse, home.raw, "lot", f"{GTIN_B}:LB001", "lost", "u")
    with pytest.raises(ValidationError, match="--reason"):  # line-only reason
        decommission(home.warehouse, home.raw, "lot", f"{GTIN_B}:LB001", "rejected_at_line", "u")
    with pytest.raises(ValidationError, match="--user"):
        decommission(home.warehouse, home.raw, "lot", f"{GTIN_B}:LB001", "expired", " ")
    with pytest.raises(ValidationError, match="--serial GTIN"):
        decommission(home.warehouse, home.raw, "serial", "00614141000013:A1", "expired", "u")
    with pytest.raises(SerialtraceError, match="is not in the warehouse"):
        decommission(home.warehouse, home.raw, "serial", f"{GTIN_A}:NOPE", "expired", "u")
    with pytest.raises(SerialtraceError, match="not a case or pallet"):
        decommission(home.warehouse, home.raw, "sscc", "006141410000009992", "expired", "u")
    with pytest.raises(ConfigurationError, match="no warehouse"):
        decommission(tmp_path / "w.duckdb", tmp_path / "raw", "lot", f"{GTIN_B}:X", "expired", "u")


def test_decommission_documents_in_every_format(flow: Flow, tmp_path: Path) -> None:
    """The unit taken from its case: unpacking then decommissioning, in 1.2 XML, 2.0 XML
    and 2.0 JSON-LD, each valid, with the same event hashes."""
    from epcis.check import check_file
    from epcis.documents import read_events
    from epcis.event_hash import event_hash
    from epcis.from_warehouse import render_decommission
    from epcis.writers import FORMATS

    document = render_decommission(
        flow.closed.home.warehouse,
        tmp_path,
        formats=FORMATS,
        request_id=flow.serial.request_id,
        name="unit",
    )
    assert document is not None and len(document.documents) == 3
    assert document.path == document.documents[0].path
    hashes = []
    for stats in document.documents:
        assert check_file(stats.path).valid, stats.path
        hashes.append([event_hash(e.node) for e in read_events(stats.path)])
    assert hashes[0] == hashes[1] == hashes[2] and len(hashes[0]) == 2
    jsonld = next(d.path for d in document.documents if d.format == "2.0-jsonld")
    unpack, retire = json.loads(jsonld.read_text())["epcisBody"]["eventList"]
    assert (unpack["type"], unpack["action"], unpack["bizStep"]) == (
        "AggregationEvent",
        "DELETE",
        "unpacking",
    )
    assert (retire["bizStep"], retire["disposition"]) == ("decommissioning", "stolen")
    assert retire["eventID"].startswith("ni:///sha-256;")  # 2.0: the event hash
