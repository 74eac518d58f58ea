from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from alerts.model import Alert, AlertType, EntryKind, Subject, chain_hash
from alerts.service import raise_alert, store_for
from alerts.store import AlertStore, StaleCaseError, _trail_entry
from serialtrace.settings import PROJECT_ROOT, Home
from tests.alerts.conftest import GTIN, Clock


def _open(home: Home, clock: Clock, ref: str = "M-1") -> str:
    alert = Alert(AlertType.MANUAL, ref, "damaged pack", (Subject(gtin=GTIN, serial="S00"),))
    return raise_alert(home, alert, user="qa", clock=clock)[0].case_id


def test_trail_verifies_and_names_the_first_tampered_entry(home: Home, clock: Clock) -> None:
    case_id = _open(home, clock)
    store = store_for(home, clock)
    for i in range(3):
        store.add_entry(case_id, EntryKind.NOTE, f"note {i}", user="qa")
    check = store.verify_trail()
    assert check.intact and check.entries == 5 and "intact" in str(check)
    assert check.head is not None and check.head.startswith("5:")
    seq, digest = check.head.split(":")
    assert store.verify_trail((int(seq), digest)).intact
    # the trail refuses edits through SQL ...
    with sqlite3.connect(home.alerts_db) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE audit_trail SET user = 'mallory' WHERE seq = 4")
    # ... so a tamperer drops the trigger first; the chain still gives it away
    with sqlite3.connect(home.alerts_db) as db:
        db.execute("DROP TRIGGER audit_trail_no_update")
        db.execute(
            "UPDATE audit_trail SET payload = replace(payload, 'note 1', 'note X') WHERE seq = 4"
        )
    check = store.verify_trail()
    assert not check.intact and check.first_broken == 4
    assert "entry 4" in str(check) and "content" in str(check)


def test_trail_detects_a_recomputed_hash_and_a_deleted_entry(home: Home, clock: Clock) -> None:
    case_id = _open(home, clock)
    store = store_for(home, clock)
    store.add_entry(case_id, EntryKind.NOTE, "one", user="qa")
    store.add_entry(case_id, EntryKind.NOTE, "two", user="qa")
    with sqlite3.connect(home.alerts_db) as db:
        db.execute("DROP TRIGGER audit_trail_no_update")
        db.execute("UPDATE audit_trail SET hash = '00' WHERE seq = 3")  # rewrite a hash
    assert store.verify_trail().first_broken == 3
    with sqlite3.connect(home.alerts_db) as db:
        db.execute("DROP TRIGGER audit_trail_no_delete")
        db.execute("DELETE FROM audit_trail WHERE seq = 2")
    check = store.verify_trail()
    assert not check.intact and check.first_broken == 2 and "missing" in str(check)


def test_anchor_catches_truncation_and_a_rewritten_chain(home: Home, clock: Clock) -> None:
    case_id = _open(home, clock)
    store = store_for(home, clock)
    store.add_entry(case_id, EntryKind.NOTE, "one", user="qa")
    head = store.verify_trail().head
    assert head is not None
    seq, digest = head.split(":")
    anchor = (int(seq), digest)
    # rewrite the last entry AND recompute its hash: the chain alone looks intact ...
    with sqlite3.connect(home.alerts_db) as db:
        db.execute("DROP TRIGGER audit_trail_no_update")
        db.execute("DROP TRIGGER audit_trail_no_delete")
        prev, at, user, cid, action, payload = db.execute(
            "SELECT prev_hash, at, user, case_id, action, payload FROM audit_trail WHERE seq = ?",
            (anchor[0],),
        ).fetchone()
        payload = payload.replace("one", "ONE")
        forged = chain_hash(prev, _trail_entry(anchor[0], at, user, cid, action, payload))
        db.execute(
            "UPDATE audit_trail SET payload = ?, hash = ? WHERE seq = ?",
            (payload, forged, anchor[0]),
        )
    assert store.verify_trail().intact
    # ... but not against the anchor kept elsewhere
    check = store.verify_trail(anchor)
    assert not check.intact and check.first_broken == anchor[0] and "anchor" in str(check)
    with sqlite3.connect(home.alerts_db) as db:
        db.execute("DELETE FROM audit_trail WHERE seq = ?", (anchor[0],))
    check = store.verify_trail(anchor)
    assert not check.intact and "anchor" in str(check)


def test_two_people_edit_one_case_at_once_in_threads(home: Home, clock: Clock) -> None:
    case_id = _open(home, clock)
    store = store_for(home, clock)
    version = store.get(case_id).version
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def edit(user: str) -> None:
        barrier.wait()
        try:
            store.assign(case_id, user, user=user, expected_version=version)
            outcomes[user] = "saved"
        except StaleCaseError:
            outcomes[user] = "stale"

    threads = [threading.Thread(target=edit, args=(u,)) for u in ("qa", "hq")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["saved", "stale"]
    winner = next(u for u, o in outcomes.items() if o == "saved")
    case = store.get(case_id)
    assert case.assignee == winner and case.version == version + 1
    assignments = [e for e in store.entries(case_id) if e.kind == "assignment"]
    assert [e.user for e in assignments] == [winner]  # the loser wrote nothing


def _writer(path: str, case_id: str, user: str, count: int) -> None:
    store = AlertStore(Path(path))
    for i in range(count):
        while True:  # what a UI does on a stale write: reload, re-apply, save
            version = store.get(case_id).version
            try:
                store.add_entry(
                    case_id, EntryKind.NOTE, f"{user} {i}", user=user, expected_version=version
                )
                break
            except StaleCaseError:
                continue


def test_two_processes_append_to_one_case_no_lost_update(home: Home, clock: Clock) -> None:
    case_id = _open(home, clock)
    start = store_for(home).get(case_id).version
    # two separate interpreters (not multiprocessing: it would re-run whatever __main__ the
    # test session has at that point, e.g. a Streamlit page run by AppTest)
    code = (
        "import sys; from tests.alerts.test_trail_and_concurrency import _writer; "
        "_writer(sys.argv[1], sys.argv[2], sys.argv[3], 15)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(home.alerts_db), case_id, u], cwd=PROJECT_ROOT
        )
        for u in ("qa", "hq")
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0
    store = store_for(home)
    notes = [e.text for e in store.entries(case_id) if e.kind == "note"]
    assert sorted(notes) == sorted([f"{u} {i}" for u in ("qa", "hq") for i in range(15)])
    assert store.get(case_id).version == start + 30
    assert store.verify_trail().intact
