from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from serialtrace.settings import Home
from serialtrace.users import UserStore

GTIN = "00312345678906"
PALLET = "103123450000001220"
CASES = ("003123450000000929", "003123450000000936")
PW = "qa-secret-pass"
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def build_warehouse(path: Path) -> None:
    """A tiny warehouse with the mart columns the alerts read: 1 pallet, 2 cases, 4 items."""
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table aggregation_hierarchy (child_key varchar, parent_sscc varchar,"
            " parent_level varchar, child_level varchar, child_gtin varchar,"
            " child_serial varchar, child_sscc varchar, case_sscc varchar, pallet_sscc varchar)"
        )
        con.execute("create table containers (sscc varchar, level varchar, work_order_id varchar)")
        con.execute(
            "create table serial_lifecycle (gtin varchar, serial varchar, lot varchar,"
            " expiry date, status varchar, case_sscc varchar, pallet_sscc varchar,"
            " work_order_id varchar)"
        )
        con.execute("create table dim_work_orders (work_order_id varchar, site_gln varchar)")
        con.execute("insert into dim_work_orders values ('WO-1', '9506000000022')")
        con.execute(
            "create table dim_products (gtin varchar, product_name varchar, ndc varchar,"
            " dosage_form varchar, strength varchar, company_name varchar)"
        )
        con.execute(
            "insert into dim_products values (?, 'Examplamab 10 mg tablets', '12345-678-90',"
            " 'tablet', '10 mg', 'Example Pharma Inc.')",
            [GTIN],
        )
        con.execute(
            "create table dim_locations (gln varchar, location_role varchar, party_name varchar,"
            " street varchar, city varchar, state varchar, postal_code varchar,"
            " country_code varchar)"
        )
        con.execute(
            "insert into dim_locations values ('9506000000022', 'site', 'Example Pharma Inc.',"
            " '1 Plant Road', 'Springfield', 'NJ', '07000', 'US')"
        )
        con.execute("insert into containers values (?, 'pallet', 'WO-1')", [PALLET])
        for i, case in enumerate(CASES):
            con.execute("insert into containers values (?, 'case', 'WO-1')", [case])
            con.execute(
                "insert into aggregation_hierarchy values (?,?,'pallet','case',null,null,?,?,?)",
                [f"(00){case}", PALLET, case, case, PALLET],
            )
            for j in range(2):
                serial = f"S{i}{j}"
                con.execute(
                    "insert into aggregation_hierarchy values (?,?,'case','item',?,?,null,?,?)",
                    [f"(01){GTIN}(21){serial}", case, GTIN, serial, case, PALLET],
                )
                con.execute(
                    "insert into serial_lifecycle values (?,?,'LOT1','2028-02-29','aggregated',"
                    "?,?,'WO-1')",
                    [GTIN, serial, case, PALLET],
                )


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """Built once (scrypt hashing and DuckDB are the slow parts), copied into each test."""
    h = Home(tmp_path_factory.mktemp("template"))
    build_warehouse(h.warehouse)
    store = UserStore(h.users_db)
    store.add("qa", PW, full_name="Quinn Quality", roles=["quality"], email="qa@x.test", by="t")
    store.add(
        "hq", PW, full_name="Hana Head", roles=["admin", "quality"], email="hq@x.test", by="t"
    )
    store.add("op", PW, full_name="Omar Operator", roles=["operator"], by="t")
    store.add("aud", PW, full_name="Ada Auditor", roles=["auditor"], by="t")
    with sqlite3.connect(h.users_db) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return h


@pytest.fixture
def home(tmp_path: Path, template: Home) -> Home:
    h = Home(tmp_path / "home")
    h.ensure()
    shutil.copyfile(template.warehouse, h.warehouse)
    return h


@pytest.fixture
def users(home: Home, template: Home) -> UserStore:
    shutil.copyfile(template.users_db, home.users_db)
    return UserStore(home.users_db)
