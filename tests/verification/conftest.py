"""A home with a lookup store holding one serial per status, partner keys, and the
responder served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from serialtrace.settings import Home
from verification.identifiers import CatalogProduct
from verification.keys import key_store
from verification.service import ResponderThread
from verification.store import store_path, write_store

GTIN = "00312345678906"  # NDC 12345-678-90, company DEMO
OTHER_GTIN = "09506000134352"  # company ACME
LOT = "L1"
EXP = "301031"  # 2030-10-31
REQ_GLN = "0614141000012"

PRODUCTS = [
    CatalogProduct(
        GTIN, "DEMO", "Serialtrol 10 mg", "12345-678-90", "12345067890", "386904008", "SRT-10-30"
    ),
    CatalogProduct(OTHER_GTIN, "ACME", "Acmetol", None, None, None, "ACM-1"),
]

#: serial → (lot, expiry, status, status_reason, lot_release_status)
SERIALS: dict[str, tuple[str, str, str, str | None, str]] = {
    "ACTIVE1": (LOT, "2030-10-31", "commissioned", None, "released"),
    "SHIPPED1": (LOT, "2030-10-31", "shipped", None, "released"),
    "RECALL1": (LOT, "2030-10-31", "decommissioned", "recalled", "released"),
    "LOTREC1": ("LR", "2030-10-31", "commissioned", None, "recalled"),
    "BLOCKED1": ("LB", "2030-10-31", "commissioned", None, "blocked"),
    "EXPIRED1": ("LX", "2024-01-31", "shipped", None, "released"),
    "DISP1": (LOT, "2030-10-31", "dispensed", None, "released"),
    "DEST1": (LOT, "2030-10-31", "decommissioned", "destroyed", "released"),
    "STOLEN1": (LOT, "2030-10-31", "decommissioned", "stolen", "released"),
    "REJECT1": (LOT, "2030-10-31", "decommissioned", "rejected_at_line:low_grade", "released"),
    "UNUSED1": (LOT, "2030-10-31", "decommissioned", "unused_at_batch_close", "released"),
    "ALLOC1": (LOT, "2030-10-31", "allocated", None, "released"),
    "QUAR1": (LOT, "2030-10-31", "commissioned", None, "released"),
}


def serial_rows() -> list[tuple[str, str, str, str, str, str | None, str | None, str | None]]:
    rows: list[tuple[str, str, str, str, str, str | None, str | None, str | None]] = [
        (GTIN, s, lot, exp, st, reason, rel, "DEMO")
        for s, (lot, exp, st, reason, rel) in SERIALS.items()
    ]
    rows.append((OTHER_GTIN, "A1", "AL1", "2030-10-31", "commissioned", None, "released", "ACME"))
    return rows


@dataclass
class Responding:
    home: Home
    url: str
    key: str  # unscoped partner key
    demo_key: str  # CMO key bound to DEMO
    acme_key: str  # CMO key bound to ACME
    server: ResponderThread


def make_home(root: Path) -> Home:
    home = Home(root).ensure()
    write_store(store_path(home.root), serial_rows(), PRODUCTS)
    return home


@pytest.fixture
def responding(tmp_path: Path) -> Iterator[Responding]:
    home = make_home(tmp_path / "home")
    keys = key_store(home)
    key = keys.add("Wholesaler One", gln=REQ_GLN)
    demo_key = keys.add("CMO view DEMO", company_id="DEMO")
    acme_key = keys.add("CMO view ACME", company_id="ACME")
    server = ResponderThread(home)
    with server as url:
        yield Responding(home, url, key, demo_key, acme_key, server)
