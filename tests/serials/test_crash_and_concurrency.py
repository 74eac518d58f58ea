"""Allocation under concurrent processes and SIGKILL: nothing overlaps, nothing is lost."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serialtrace.serials.ledger import NUMERIC, Pool, SerialLedger

GTIN = "00312345678906"

WORKER = """
import json, sys
from pathlib import Path
from serialtrace.serials.ledger import SerialLedger
path, pool_id, counts = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
out = []
with SerialLedger(path) as ledger:
    for i, n in enumerate(counts):
        out.append(ledger.allocate(pool_id, n, f"WO-{i}"))
print(json.dumps(out))
"""

POOLS = {
    "random": Pool("R", GTIN, "XX", 7, NUMERIC, True),  # space 10^7, cap 1,000: collisions happen
    "sequential": Pool("S", GTIN, "YY", 5, NUMERIC, False, client="other"),
}


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(sorted(POOLS)),
    plans=st.lists(st.lists(st.integers(1, 60), min_size=1, max_size=6), min_size=2, max_size=3),
)
def test_concurrent_allocations_never_overlap(
    tmp_path_factory: pytest.TempPathFactory, kind: str, plans: list[list[int]]
) -> None:
    path = tmp_path_factory.mktemp("concurrent") / "serials.sqlite"
    pool = POOLS[kind]
    with SerialLedger(path) as ledger:
        ledger.ensure_pool(pool)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), pool.pool_id, json.dumps(plan)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for plan in plans
    ]
    issued: list[str] = []
    for proc, plan in zip(procs, plans, strict=True):
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        blocks = json.loads(out)
        assert [len(b) for b in blocks] == plan
        issued += [s for b in blocks for s in b]
    assert len(issued) == len(set(issued)) == sum(map(sum, plans))
    with SerialLedger(path) as ledger:
        assert ledger.issued_count(pool.pool_id) == len(issued)
        assert set(ledger.issued_serials(pool.pool_id)) == set(issued)


CRASHER = """
import os, sys
from pathlib import Path
from serialtrace.serials.ledger import SerialLedger
path, log = Path(sys.argv[1]), Path(sys.argv[2])
with SerialLedger(path) as ledger, log.open("a") as handle:
    i = 0
    while True:
        i += 1
        count = 300_000 if i % 3 == 0 else 2_000   # big ones: the kill often lands inside
        handle.write(f"#begin {i}\\n")
        handle.flush()
        serials = ledger.allocate("R", count, f"WO-{os.getpid()}-{i}")
        handle.write("\\n".join(serials) + "\\n")  # handed out: written after the commit
        handle.flush()
        os.fsync(handle.fileno())
"""


def test_sigkill_mid_allocation_loses_nothing_and_issues_nothing_twice(tmp_path: Path) -> None:
    path, log = tmp_path / "serials.sqlite", tmp_path / "handed-out.txt"
    with SerialLedger(path) as ledger:
        ledger.ensure_pool(Pool("R", GTIN, "XX", 12, NUMERIC, True))
    log.touch()
    mid_allocation = 0
    for delay in (0.9, 1.7, 2.4, 3.1):
        proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(path), str(log)])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        mid_allocation += log.read_text().rstrip("\n").rsplit("\n", 1)[-1].startswith("#begin")
    assert mid_allocation >= 1  # at least one kill landed inside an allocation
    # serial lines only (a kill during the log write may leave a cut line: ignored)
    lines = log.read_text().splitlines()
    handed_out = [line for line in lines if len(line) == 12 and line.isdigit()]
    assert handed_out, "the worker never got to hand out serials"
    assert len(handed_out) == len(set(handed_out))  # nothing issued twice

    con = sqlite3.connect(path)
    assert con.execute("pragma integrity_check").fetchone() == ("ok",)
    rows = dict(con.execute("select serial, alloc_no from serials"))
    assert all(rows.get(s) is not None for s in handed_out)  # nothing handed out lost
    # no half allocation: each committed allocation has exactly its serials, the counter agrees
    per_alloc = dict(con.execute("select alloc_no, count(*) from serials group by alloc_no"))
    allocations = dict(con.execute("select alloc_no, count from allocations"))
    assert per_alloc == allocations
    assert con.execute("select issued from pools").fetchone()[0] == len(rows)
    con.close()

    with SerialLedger(path) as ledger:  # restart: the next allocation is fresh
        after = ledger.allocate("R", 50_000, "WO-AFTER")
    assert not set(after) & set(rows)
