from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from serialtrace.errors import ValidationError
from serialtrace.serials.ledger import NUMERIC, Pool, PoolExhaustedError, SerialLedger

POOL = Pool("P-US", "00312345678906", "US-DSCSA", 12, NUMERIC, True)


def test_random_allocation_is_unique_well_formed_and_durable(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with SerialLedger(path) as ledger:
        ledger.ensure_pool(POOL)
        first = ledger.allocate(POOL, 5000, "WO-1")
    with SerialLedger(path) as ledger:  # reopened: nothing forgotten
        second = ledger.allocate(POOL, 5000, "WO-2")
        assert ledger.issued_count(POOL.pool_id) == 10_000
    assert len(set(first) | set(second)) == 10_000
    assert all(len(s) == 12 and s.isdigit() for s in first + second)


def test_sequential_pool_continues_after_reopen(tmp_path: Path) -> None:
    pool = Pool("P-SEQ", "00312345678906", "XX", 4, NUMERIC, False)
    with SerialLedger(tmp_path / "l.sqlite") as ledger:
        ledger.ensure_pool(pool)
        assert ledger.allocate(pool, 3, "WO-1") == ["0000", "0001", "0002"]
    with SerialLedger(tmp_path / "l.sqlite") as ledger:
        assert ledger.allocate(pool, 2, "WO-2") == ["0003", "0004"]


def test_request_beyond_the_pool_is_refused_and_issues_nothing(tmp_path: Path) -> None:
    pool = Pool("P-SMALL", "00312345678906", "XX", 2, NUMERIC, False)
    with SerialLedger(tmp_path / "l.sqlite") as ledger:
        ledger.ensure_pool(pool)
        ledger.allocate(pool, 95, "WO-1")
        with pytest.raises(PoolExhaustedError, match="6 serials requested, 5 left"):
            ledger.allocate(pool, 6, "WO-2")
        assert ledger.issued_count(pool.pool_id) == 95


def test_randomized_pool_keeps_guessing_probability_below_one_in_10000(tmp_path: Path) -> None:
    pool = Pool("P-R", "00312345678906", "EU", 5, NUMERIC, True)  # space 100,000 -> 10 max
    with SerialLedger(tmp_path / "l.sqlite") as ledger:
        ledger.ensure_pool(pool)
        ledger.allocate(pool, 10, "WO-1")
        with pytest.raises(PoolExhaustedError, match="1 in 10,000"):
            ledger.allocate(pool, 1, "WO-2")


def test_pool_rules_cannot_change_and_bad_counts_are_refused(tmp_path: Path) -> None:
    with SerialLedger(tmp_path / "l.sqlite") as ledger:
        ledger.ensure_pool(POOL)
        with pytest.raises(ValidationError, match="pool"):
            ledger.ensure_pool(Pool("P-US", "00312345678906", "US-DSCSA", 10, NUMERIC, True))
        with pytest.raises(ValidationError, match="count"):
            ledger.allocate(POOL, 0, "WO")


WORKER = """
import json, sys
from pathlib import Path
from serialtrace.serials.ledger import NUMERIC, Pool, SerialLedger
pool = Pool("P-US", "00312345678906", "US-DSCSA", 12, NUMERIC, True)
with SerialLedger(Path(sys.argv[1])) as ledger:
    serials = []
    for i in range(10):
        serials += ledger.allocate(pool, 500, f"WO-{i}")
print(json.dumps(serials))
"""


def test_concurrent_processes_never_overlap(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with SerialLedger(path) as ledger:
        ledger.ensure_pool(POOL)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        results.append(json.loads(out))
    everything = [s for r in results for s in r]
    assert len(everything) == 15_000 == len(set(everything))
    with SerialLedger(path) as ledger:
        assert ledger.issued_count(POOL.pool_id) == 15_000


def test_named_counters_are_durable(tmp_path: Path) -> None:
    with SerialLedger(tmp_path / "l.sqlite") as ledger:
        assert ledger.next_values("sscc", 10) == 0
        assert ledger.next_values("sscc", 1) == 10
    with SerialLedger(tmp_path / "l.sqlite") as ledger:
        assert ledger.next_values("sscc", 1) == 11
