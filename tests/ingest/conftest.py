from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from ingest.erp.config import Connection, load_connections
from serialtrace.settings import Home

FIXTURES = Path(__file__).parent / "fixtures"
WO_DEFAULTS = {
    "site_gln": "0312345000011",
    "customer_gln": "0614141000012",
    "case_size": 20,
    "pallet_size": 40,
}


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home").ensure()


@pytest.fixture
def sap(home: Home) -> Connection:
    return load_connections(home)["sap-demo"]


def connection(home: Home, kind: str, company_id: str = "ACME") -> Connection:
    base = load_connections(home)["sap-demo"]
    return dataclasses.replace(
        base,
        name=f"{kind}-{company_id}".lower(),
        kind=kind,
        company_id=company_id,
        drop=home.root / "erp" / "inbox" / kind,
        outbox=home.root / "erp" / "outbox" / kind,
        work_order_defaults=dict(WO_DEFAULTS),
    )


def drop(conn: Connection, fixture: str) -> Path:
    conn.drop.mkdir(parents=True, exist_ok=True)
    target = conn.drop / Path(fixture).name
    shutil.copy(FIXTURES / fixture, target)
    return target
