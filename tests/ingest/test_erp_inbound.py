"""ERP/MES connectors: real files in the official shapes land in the raw zone, bad files
go to quarantine whole with a reason per record, good files keep flowing."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.erp.config import Connection, quarantine_dir
from ingest.erp.loader import load_file, load_pending
from serialtrace.settings import Home
from tests.ingest.conftest import connection, drop


def rows(home: Home, table: str) -> list[dict[str, Any]]:
    folder = home.raw_masterdata / table
    if not any(folder.glob("*.parquet")):
        return []
    with duckdb.connect() as con:
        cursor = con.execute(
            f"select * from read_parquet('{folder}/*.parquet', union_by_name = true) "
            "order by loaded_at"
        )
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def test_sap_idoc_material_and_batch_master_land_with_provenance(
    home: Home, sap: Connection
) -> None:
    first = load_file(home, sap, drop(sap, "sap/MATMAS05_products.xml"))
    second = load_file(home, sap, drop(sap, "sap/BATMAS03_released.xml"))
    assert (first.outcome, second.outcome) == ("loaded", "loaded")

    products = {p["gtin"]: p for p in rows(home, "products")}
    assert set(products) == {"00312345678906", "00312345679309"}
    p = products["00312345678906"]
    assert p["name"] == "Serialtrol (demotrexate) Tablets"  # the English E1MAKTM
    assert (p["ndc"], p["ndc11"], p["company_prefix_length"]) == ("12345-678-90", "12345067890", 7)
    assert (p["erp_material"], p["company_id"], p["source"]) == ("FG-100234", "DEMO", "sap-demo")
    assert p["source_file"] == "MATMAS05_products.xml" and p["load_id"] == first.load_id
    assert p["source_changed_at"] == dt.datetime(2026, 11, 1, 8, 15, tzinfo=dt.UTC)
    # the second material has no EAN11 on E1MARAM: the base unit's E1MARMM gives the GTIN
    assert products["00312345679309"]["erp_material"] == "FG-100235"

    lots = {lot["lot"]: lot for lot in rows(home, "lots")}
    a, b = lots["DEMO2611A"], lots["DEMO2611B"]
    assert (a["gtin"], a["expiry"], a["manufactured_on"]) == (
        "00312345678906",
        dt.date(2028, 10, 31),
        dt.date(2026, 11, 2),
    )
    assert (a["release_status"], a["quantity"], a["quantity_unit"]) == ("released", 1000, "EA")
    assert b["release_status"] == "blocked"  # RESTRICTED = X, no extension segment
    assert all(
        lot["loaded_at"] is not None and lot["company_id"] == "DEMO" for lot in lots.values()
    )
    assert not any(sap.drop.iterdir())  # both files moved out of the drop folder


def test_odata_oracle_and_mes_exports_land(home: Home) -> None:
    odata = connection(home, "sap_odata")
    assert load_file(home, odata, drop(odata, "odata/A_Product.json")).outcome == "loaded"
    assert load_file(home, odata, drop(odata, "odata/A_Batch.json")).outcome == "loaded"
    oracle = connection(home, "oracle_csv")
    for name in ("items.csv", "lots.csv", "work_orders.csv"):
        assert load_file(home, oracle, drop(oracle, f"oracle/{name}")).outcome == "loaded", name
    rest = connection(home, "oracle_rest")
    assert load_file(home, rest, drop(rest, "oracle/lots_rest_page2.json")).outcome == "loaded"
    mes = connection(home, "mes", company_id="DEMO")
    demo = connection(home, "sap_idoc", company_id="DEMO")
    load_file(home, demo, drop(demo, "sap/MATMAS05_products.xml"))
    load_file(home, demo, drop(demo, "sap/BATMAS03_released.xml"))
    assert load_file(home, mes, drop(mes, "mes/batch_records.json")).outcome == "loaded"

    lots = {lot["lot"]: lot for lot in rows(home, "lots")}
    assert lots["AC26110"]["expiry"] == dt.date(2028, 11, 5)  # /Date(1856995200000)/
    assert lots["AC26110"]["quantity"] == 5000 and lots["AC26110"]["release_status"] == "released"
    assert lots["AC26111"]["release_status"] == "blocked"  # MatlBatchIsInRstrcdUseStock
    assert lots["AC26121"]["release_status"] == "blocked"  # Oracle 'Hold'
    assert lots["AC26141"]["release_status"] == "quarantine"  # Oracle REST 'Quarantine'
    assert {lots[x]["source"] for x in ("AC26110", "AC26120", "AC26141")} == {
        "sap_odata-acme",
        "oracle_csv-acme",
        "oracle_rest-acme",
    }
    orders = {o["work_order_id"]: o for o in rows(home, "work_orders")}
    acme = orders["WO-ACME-1001"]
    assert (acme["gtin"], acme["lot"], acme["planned_quantity"], acme["line_id"]) == (
        "00361414100015",
        "AC26120",
        4800,
        "LINE-2",
    )
    assert acme["site_gln"] == "0312345000011" and acme["company_id"] == "ACME"  # defaults
    mes_order = orders["WO-MES-0001"]
    assert (mes_order["company_id"], mes_order["planned_quantity"], mes_order["source"]) == (
        "DEMO",
        1000,
        "mes-demo",
    )


def _reasons(path: Path) -> list[dict[str, str]]:
    with path.with_name(path.name + ".reasons.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_inconsistent_file_is_quarantined_whole_and_good_files_keep_flowing(
    home: Home, sap: Connection
) -> None:
    load_file(home, sap, drop(sap, "sap/MATMAS05_products.xml"))
    before = rows(home, "lots")
    bad = load_file(home, sap, drop(sap, "sap/BATMAS03_bad.xml"))
    assert bad.outcome == "quarantined" and bad.moved_to is not None
    assert bad.moved_to.parent == quarantine_dir(home, "sap-demo") and bad.moved_to.is_file()
    reasons = {(r["record"].split()[-1], r["field"], r["reason"]) for r in _reasons(bad.moved_to)}
    assert reasons == {
        ("FG-999999/DEMO2612B", "material", "unknown material FG-999999: no product/GTIN"),
        ("FG-100234/DEMO2612C", "expiry", "2025-12-31 is not after manufacture date 2026-11-10"),
        (
            "FG-100234/DEMO2612E",
            "release_status",
            "'approved-ish' is not one of released, quarantine, blocked, recalled",
        ),
        (
            "00312345678906/DEMO2612D",
            "gtin/lot",
            "duplicate batch with other data (expiry 2028-12-31 vs 2029-12-31)",
        ),
    }
    # nothing of the file landed, not even its one good batch (DEMO2612A)
    assert rows(home, "lots") == before
    truncated = load_file(home, sap, drop(sap, "sap/BATMAS03_truncated.xml"))
    assert truncated.outcome == "quarantined"
    assert "not well-formed XML" in _reasons(truncated.moved_to)[0]["reason"]  # type: ignore[arg-type]
    # the next good file still loads
    assert load_file(home, sap, drop(sap, "sap/BATMAS03_released.xml")).outcome == "loaded"
    assert {lot["lot"] for lot in rows(home, "lots")} == {"DEMO2611A", "DEMO2611B"}
    loads = (
        duckdb.connect()
        .execute(
            f"select outcome, count(*) from read_parquet('{home.raw}/erp/loads/*.parquet') "
            "group by outcome order by outcome"
        )
        .fetchall()
    )
    assert loads == [("loaded", 2), ("quarantined", 2)]


def test_unknown_gtin_impossible_expiry_and_fractional_quantity(home: Home) -> None:
    oracle = connection(home, "oracle_csv")
    load_file(home, oracle, drop(oracle, "oracle/items.csv"))
    bad = load_file(home, oracle, drop(oracle, "oracle/lots_unknown_item.csv"))
    assert bad.outcome == "quarantined"
    fields = sorted((e.field, e.reason.split(":")[0]) for e in bad.errors)
    assert fields == [
        ("expiry", "2099-11-30 is more than 10 years after manufacture 2026-11-05"),
        ("material", "unknown material ACM-999-99"),
        ("quantity", "must be a whole number of units, got 12.5"),
    ]
    mes = connection(home, "mes", company_id="ACME")
    bad_mes = mes.drop / "unknown_gtin.json"
    mes.drop.mkdir(parents=True, exist_ok=True)
    bad_mes.write_text(
        '{"batchRecords": [{"orderId": "WO-X", "gtin": "00312345678906", "batch": "B1", '
        '"line": "L1", "plannedQuantity": 10, "caseSize": 5, "palletSize": 2}]}'
    )
    result = load_file(home, mes, bad_mes)
    # the DEMO client's product is not ACME's: unknown GTIN for this client
    assert [str(e).split(": ", 1)[1] for e in result.errors] == [
        "gtin: unknown GTIN 00312345678906: no product"
    ]


def test_same_file_twice_is_recognised_and_not_landed_again(home: Home, sap: Connection) -> None:
    load_file(home, sap, drop(sap, "sap/MATMAS05_products.xml"))
    again = load_file(home, sap, drop(sap, "sap/MATMAS05_products.xml"))
    assert again.outcome == "already loaded"
    assert len(rows(home, "products")) == 2


def test_a_batch_file_arriving_before_its_material_file_still_loads(
    home: Home, sap: Connection
) -> None:
    import os

    materials = drop(sap, "sap/MATMAS05_products.xml")
    batches = drop(sap, "sap/BATMAS03_released.xml")
    os.utime(batches, (999_999_000, 999_999_000))  # the batches arrived first
    os.utime(materials, (1_000_000_000, 1_000_000_000))
    results = load_pending(home, sap)
    assert [(r.file, r.outcome) for r in results] == [
        ("MATMAS05_products.xml", "loaded"),
        ("BATMAS03_released.xml", "loaded"),
    ]


def test_a_reference_that_never_resolves_goes_to_quarantine(home: Home, sap: Connection) -> None:
    drop(sap, "sap/BATMAS03_released.xml")  # no material master at all
    [result] = load_pending(home, sap)
    assert result.outcome == "quarantined"
    assert {e.reason.split(":")[0] for e in result.errors} == {
        "unknown material FG-100234",
        "unknown material FG-100235",
    }


@pytest.mark.parametrize("text", ["", "{", "<MATMAS05/>", "<X><IDOC BEGIN='1'/></X>"])
def test_unreadable_files_are_quarantined(home: Home, sap: Connection, text: str) -> None:
    path = sap.drop / "broken.xml"
    sap.drop.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    result = load_file(home, sap, path)
    assert result.outcome == "quarantined" and result.errors[0].where == "file"
    assert not (home.raw_masterdata / "products").exists()


def test_cli_load_and_watch(
    home: Home, sap: Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    from serialtrace.cli import main

    drop(sap, "sap/MATMAS05_products.xml")
    args = ["--connection", "sap-demo", "--home", str(home.root)]
    assert main(["erp", "watch", "--passes", "1", "--interval", "0", *args]) == 0
    assert "MATMAS05_products.xml loaded (2 products)" in capsys.readouterr().out
    drop(sap, "sap/BATMAS03_bad.xml")
    assert main(["erp", "load", *args]) == 1  # a file went to quarantine
    out = capsys.readouterr().out
    assert "BATMAS03_bad.xml quarantined (4 reasons" in out
    assert main(["erp", "load", "--connection", "nope", "--home", str(home.root)]) == 2
    assert "--connection: no connection 'nope'" in capsys.readouterr().err
