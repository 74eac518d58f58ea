from __future__ import annotations

import shutil
from dataclasses import dataclass

import duckdb
import pytest

from serialtrace.demo import DemoResult
from serialtrace.settings import Home
from tests.dashboards.login import ensure_user

#: The figure ACME's copy of the demo warehouse prints for every batch: recognisable.
ACME_PRINTED = 987_654


@dataclass(frozen=True)
class TwoClients:
    """A CMO installation: the root's data space (client ``default``, the demo's warehouse)
    and client ACME's (a copy whose batches printed ACME_PRINTED units), plus a user each
    may see only one of, and an admin for both."""

    installation: Home
    acme: Home
    work_order_id: str
    home_printed: int
    root_user: str = "root-viewer"
    acme_user: str = "acme-viewer"
    admin: str = "cmo-admin"


@pytest.fixture(scope="session")
def two_clients(
    demo: tuple[Home, DemoResult], tmp_path_factory: pytest.TempPathFactory
) -> TwoClients:
    source, result = demo
    installation = Home(tmp_path_factory.mktemp("cmo") / "installation")
    acme = installation.client("ACME")
    for space in (installation, acme):
        space.root.mkdir(parents=True)
        for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
            if (source.root / name).exists():
                shutil.copy(source.root / name, space.root / name)
    with duckdb.connect(str(acme.warehouse)) as con:
        con.execute("update batch_quality set printed = ?", [ACME_PRINTED])
    with duckdb.connect(str(installation.warehouse), read_only=True) as con:
        row = con.execute(
            "select printed from batch_quality where work_order_id = ?", [result.work_order_id]
        ).fetchone()
    assert row is not None and row[0] != ACME_PRINTED
    spaces = TwoClients(installation, acme, result.work_order_id, int(row[0]))
    ensure_user(installation, spaces.root_user, ["quality"], ["default"])
    ensure_user(installation, spaces.acme_user, ["quality"], ["ACME"])
    ensure_user(installation, spaces.admin, ["admin"], ["*"])
    return spaces
