"""The demo path end to end on a small batch: line → warehouse → EPCIS."""

from __future__ import annotations

from collections import Counter
from typing import Any

import duckdb
import pytest
from lxml import etree

from epcis.validate import validate_epcis_file
from serialtrace.demo import DemoResult
from serialtrace.gs1.epc import parse_epc_uri
from serialtrace.settings import Home

pytestmark = pytest.mark.e2e


def test_summary_matches_the_line(demo: tuple[Home, DemoResult]) -> None:
    _, result = demo
    assert result.printed == result.units
    assert result.passed + result.rejected == result.units
    assert result.rejected == sum(result.reject_causes.values())
    assert result.cases == -(-result.passed // 20)
    assert result.pallets == -(-result.cases // 40)


def test_warehouse_has_every_serial_with_the_right_status(demo: tuple[Home, DemoResult]) -> None:
    home, result = demo
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        statuses = dict(
            con.execute(
                "select status, count(*) from serial_lifecycle where work_order_id = ? "
                "group by status",
                [result.work_order_id],
            ).fetchall()
        )
        assert sum(statuses.values()) == result.units
        # every passed unit is packed (partial last case included) and shipped with its
        # pallet to the demo customer (the demo's shipping step); every reject retired
        assert statuses == {"shipped": result.passed, "decommissioned": result.rejected}
        # each status agrees with the raw inspection outcome of that very serial
        mismatches = con.execute(
            f"""
            select count(*) from serial_lifecycle s
            join read_parquet('{home.raw_line}/inspect/*/*.parquet', hive_partitioning = true) i
              on i.expected_serial = s.serial and i.work_order_id = s.work_order_id
            where (i.outcome = 'pass') <> (s.status = 'shipped')
            """
        ).fetchone()
        assert mismatches == (0,)


def test_epcis_document_is_valid_and_complete(demo: tuple[Home, DemoResult]) -> None:
    home, result = demo
    path = result.epcis_path
    assert path.is_file() and path.parent.parent == home.epcis_outbox
    assert validate_epcis_file(path).valid
    tree = etree.parse(str(path))

    def elements(node: Any, xpath: str) -> list[Any]:
        found = node.xpath(xpath)
        assert isinstance(found, list)
        return found

    events = elements(tree, "//EventList/*")
    commissioned: list[str] = []
    decommissioned: list[str] = []
    for event in events:
        epcs = [e.text for e in elements(event, "epcList/epc")]
        step = event.findtext("bizStep")
        if event.tag == "ObjectEvent" and step == "urn:epcglobal:cbv:bizstep:commissioning":
            commissioned += epcs
        if step == "urn:epcglobal:cbv:bizstep:decommissioning":
            decommissioned += epcs
    units = [e for e in commissioned if e.startswith("urn:epc:id:sgtin:")]
    containers = [e for e in commissioned if e.startswith("urn:epc:id:sscc:")]
    assert len(units) == len(set(units)) == result.passed
    assert len(decommissioned) == result.rejected
    assert len(containers) == result.cases + result.pallets
    # every case and pallet is present with the right children
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        expected = Counter(
            {
                (parent, level): n
                for parent, level, n in con.execute(
                    "select parent_sscc, parent_level, count(*) from aggregation_hierarchy "
                    "where work_order_id = ? group by all",
                    [result.work_order_id],
                ).fetchall()
            }
        )
    found: Counter[tuple[str, str]] = Counter()
    for event in elements(tree, "//EventList/AggregationEvent"):
        parent = parse_epc_uri(event.findtext("parentID"))
        children = [parse_epc_uri(c.text) for c in elements(event, "childEPCs/epc")]
        level = "pallet" if children[0].scheme == "sscc" else "case"
        assert {c.scheme for c in children} == {"sscc" if level == "pallet" else "sgtin"}
        found[(str(parent.sscc), level)] += len(children)
    assert found == expected
    assert sum(n for (_, lvl), n in found.items() if lvl == "case") == result.passed
