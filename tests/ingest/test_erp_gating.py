"""Release gating: no serials and no line start for a batch the ERP has not released."""

from __future__ import annotations

import datetime as dt

import pytest

from ingest.erp.config import Connection
from ingest.erp.gating import BatchNotReleasedError, LotStatus, check_release, lot_status
from ingest.erp.loader import load_file
from line_bridge.orders import load_order
from serialtrace.cli import main
from serialtrace.config import load_demo_config
from serialtrace.demo import open_work_order
from serialtrace.serials.ledger import SerialLedger
from serialtrace.settings import Home
from tests.ingest.conftest import drop

GTIN, LOT = "00312345678906", "DEMO2611A"  # the demo product and lot (demo.toml)
AT = dt.datetime(2026, 11, 3, 14, tzinfo=dt.UTC)


@pytest.mark.parametrize("status", ["quarantine", "blocked", "recalled"])
def test_check_release_refuses_every_status_but_released(status: str) -> None:
    check_release(GTIN, LOT, LotStatus(GTIN, LOT, "released", "sap", AT), "x")
    with pytest.raises(BatchNotReleasedError) as info:
        check_release(GTIN, LOT, LotStatus(GTIN, LOT, status, "sap-demo", AT), "line start")
    message = str(info.value)
    assert LOT in message and GTIN in message and repr(status) in message
    assert "line start refused" in message and "sap-demo" in message


def test_unknown_batch_is_refused() -> None:
    with pytest.raises(BatchNotReleasedError, match="unknown to the ERP"):
        check_release(GTIN, LOT, None, "serial allocation")


def _erp_batches(home: Home, sap: Connection, *fixtures: str) -> None:
    for name in fixtures:
        assert load_file(home, sap, drop(sap, name)).outcome == "loaded"


def test_released_then_recalled_batch_gates_allocation_and_line_start(
    home: Home, sap: Connection, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = load_demo_config()
    _erp_batches(home, sap, "sap/MATMAS05_products.xml", "sap/BATMAS03_released.xml")
    with SerialLedger(home.serial_ledger) as ledger:
        open_work_order(home, cfg, 5, ledger, "WO-G-1")
    # the demo configuration did not overwrite the ERP's lot
    status = lot_status(home.raw_masterdata, GTIN, LOT)
    assert status is not None and status.source == "sap-demo"
    assert load_order(home.raw, "WO-G-1").batch.lot == LOT

    _erp_batches(home, sap, "sap/BATMAS03_recall.xml")
    with SerialLedger(home.serial_ledger) as ledger, pytest.raises(BatchNotReleasedError) as info:
        open_work_order(home, cfg, 5, ledger, "WO-G-2")
    assert "'recalled'" in str(info.value) and "serial allocation refused" in str(info.value)
    with pytest.raises(BatchNotReleasedError, match="line start of work order WO-G-1 refused"):
        load_order(home.raw, "WO-G-1")

    code = main(
        [
            "serials",
            "allocate",
            "--pool",
            cfg.pool.pool_id,
            "--count",
            "3",
            "--order",
            "WO-G-1",
            "--home",
            str(home.root),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "batch DEMO2611A" in err and "'recalled'" in err
    assert main(["erp", "status", "--gtin", GTIN, "--lot", LOT, "--home", str(home.root)]) == 1
    assert "recalled (source sap-demo" in capsys.readouterr().out


def test_batch_still_restricted_in_sap_cannot_be_packaged(home: Home, sap: Connection) -> None:
    _erp_batches(home, sap, "sap/MATMAS05_products.xml", "sap/BATMAS03_released.xml")
    status = lot_status(home.raw_masterdata, "00312345679309", "DEMO2611B")
    with pytest.raises(BatchNotReleasedError, match="'blocked'"):
        check_release("00312345679309", "DEMO2611B", status, "serial allocation")
