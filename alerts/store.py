"""Alert cases in the alerts database (SQLite, ``Home.alerts_db``, beside the locks).

Every change is one transaction that (1) checks the case version the caller read
(optimistic concurrency: a stale writer gets :class:`StaleCaseError`, never a lost update),
(2) writes the change, (3) appends a hash-chained audit-trail entry. Investigation entries,
signatures and trail rows are append-only (SQLite triggers refuse UPDATE and DELETE);
the trail is tamper-evident: :meth:`AlertStore.verify_trail` recomputes the chain.
Tables and views are documented in docs/alerts.md (auditors query them in SQL).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alerts.hierarchy import Affected
from alerts.locks import QuarantineLocks, lock_in, release_in
from alerts.model import (
    GENESIS,
    MEANINGS,
    POLICIES,
    Alert,
    CaseStatus,
    Classification,
    Disposition,
    EntryKind,
    canonical,
    chain_hash,
    sha256,
)
from serialtrace.errors import SerialtraceError, ValidationError
from serialtrace.io.sqlite import connect_wal
from serialtrace.users import AuthenticationError, User, UserStore

Clock = Callable[[], datetime]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS case_counter (year INTEGER PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS alert_case (
    case_id        TEXT PRIMARY KEY,          -- ALR-<year>-<nnnnnn>
    alert_type     TEXT NOT NULL,
    source_ref     TEXT NOT NULL,
    title          TEXT NOT NULL,
    severity       TEXT NOT NULL,
    market         TEXT NOT NULL,             -- US (DSCSA) | EU (FMD)
    detail         TEXT NOT NULL,             -- JSON: the source record
    status         TEXT NOT NULL,             -- open | investigating | closed
    assignee       TEXT,
    raised_at      TEXT NOT NULL,             -- when the source saw it
    opened_at      TEXT NOT NULL,
    opened_by      TEXT NOT NULL,
    sla_due_at     TEXT NOT NULL,
    determined_at  TEXT,                      -- illegitimacy determined (DSCSA 24 h clock)
    classification TEXT,
    disposition    TEXT,
    closed_at      TEXT,
    closed_by      TEXT,
    version        INTEGER NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    UNIQUE (alert_type, source_ref)
);
CREATE TABLE IF NOT EXISTS case_identifier (
    case_id     TEXT NOT NULL REFERENCES alert_case(case_id),
    identifier  TEXT NOT NULL,                -- lock key
    level       TEXT NOT NULL,
    role        TEXT NOT NULL,                -- reported | contained
    parent      TEXT,
    gtin        TEXT, serial TEXT, sscc TEXT, lot TEXT, expiry TEXT,
    status      TEXT,                         -- warehouse status when the case opened
    case_sscc   TEXT, pallet_sscc TEXT,
    PRIMARY KEY (case_id, identifier)
);
CREATE TABLE IF NOT EXISTS case_entry (
    entry_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id   TEXT NOT NULL REFERENCES alert_case(case_id),
    kind      TEXT NOT NULL,
    text      TEXT NOT NULL,
    data      TEXT NOT NULL,                  -- JSON
    user      TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signature (
    signature_id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      TEXT NOT NULL REFERENCES alert_case(case_id),
    entry_id     INTEGER NOT NULL REFERENCES case_entry(entry_id),  -- last entry signed
    user         TEXT NOT NULL,
    full_name    TEXT NOT NULL,
    meaning      TEXT NOT NULL,
    signed_at    TEXT NOT NULL,
    record_hash  TEXT NOT NULL                -- SHA-256 of the signed record (case + entries)
);
CREATE TABLE IF NOT EXISTS escalation_sent (
    case_id    TEXT NOT NULL,
    rule_id    TEXT NOT NULL,
    sent_at    TEXT NOT NULL,
    recipients TEXT NOT NULL,
    channel    TEXT NOT NULL,
    PRIMARY KEY (case_id, rule_id)
);
CREATE TABLE IF NOT EXISTS audit_trail (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    user      TEXT NOT NULL,
    case_id   TEXT,
    action    TEXT NOT NULL,
    payload   TEXT NOT NULL,                  -- JSON
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_trail_no_update BEFORE UPDATE ON audit_trail
    BEGIN SELECT RAISE(ABORT, 'audit_trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_trail_no_delete BEFORE DELETE ON audit_trail
    BEGIN SELECT RAISE(ABORT, 'audit_trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_entry_no_update BEFORE UPDATE ON case_entry
    BEGIN SELECT RAISE(ABORT, 'case_entry is append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_entry_no_delete BEFORE DELETE ON case_entry
    BEGIN SELECT RAISE(ABORT, 'case_entry is append-only'); END;
CREATE TRIGGER IF NOT EXISTS signature_no_update BEFORE UPDATE ON signature
    BEGIN SELECT RAISE(ABORT, 'signature is append-only'); END;
CREATE TRIGGER IF NOT EXISTS signature_no_delete BEFORE DELETE ON signature
    BEGIN SELECT RAISE(ABORT, 'signature is append-only'); END;
CREATE VIEW IF NOT EXISTS alert_queue AS
    SELECT c.case_id, c.alert_type, c.severity, c.status, c.assignee, c.title,
           c.opened_at, c.sla_due_at, c.determined_at, c.disposition, c.closed_at,
           (SELECT count(*) FROM case_identifier i WHERE i.case_id = c.case_id) AS identifiers,
           (SELECT count(*) FROM quarantine_lock l
             WHERE l.case_id = c.case_id AND l.released_at IS NULL) AS active_locks
    FROM alert_case c;
CREATE VIEW IF NOT EXISTS case_signatures AS
    SELECT s.case_id, s.signature_id, s.full_name, s.user, s.meaning, s.signed_at,
           s.record_hash, e.kind AS signed_entry_kind, e.text AS signed_entry_text
    FROM signature s JOIN case_entry e ON e.entry_id = s.entry_id;
"""


class StaleCaseError(SerialtraceError):
    """The case changed since the caller read it: reload and retry (nothing was written)."""


class CaseNotFoundError(SerialtraceError):
    pass


@dataclass(frozen=True)
class Case:
    case_id: str
    alert_type: str
    source_ref: str
    title: str
    severity: str
    market: str
    detail: dict[str, Any]
    status: str
    assignee: str | None
    raised_at: datetime
    opened_at: datetime
    opened_by: str
    sla_due_at: datetime
    determined_at: datetime | None
    classification: str | None
    disposition: str | None
    closed_at: datetime | None
    closed_by: str | None
    version: int
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class Entry:
    entry_id: int
    case_id: str
    kind: str
    text: str
    data: dict[str, Any]
    user: str
    at: datetime


@dataclass(frozen=True)
class Signature:
    signature_id: int
    case_id: str
    entry_id: int
    user: str
    full_name: str
    meaning: str
    signed_at: datetime
    record_hash: str


@dataclass(frozen=True)
class TrailCheck:
    entries: int
    intact: bool
    first_broken: int | None  # seq of the first entry whose hash does not verify
    reason: str | None
    head: str | None = None  # hash of the last entry (record it elsewhere: anchors the chain)

    def __str__(self) -> str:
        if self.intact:
            return (
                f"audit trail intact: {self.entries} entries, hash chain verified; "
                f"head {self.head or GENESIS}"
            )
        return f"audit trail BROKEN at entry {self.first_broken}: {self.reason}"


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValidationError("time", "must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def utc_now() -> datetime:
    return datetime.now(UTC)


class AlertStore:
    """Cases, their identifiers and locks, investigation entries, signatures, the trail."""

    def __init__(self, path: Path, *, clock: Clock = utc_now) -> None:
        self.path = path
        self.clock = clock
        self.locks = QuarantineLocks(path)  # creates the lock table
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return connect_wal(self.path)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # ---- the trail -------------------------------------------------------------------

    def _trail(
        self,
        db: sqlite3.Connection,
        user: str,
        case_id: str | None,
        action: str,
        payload: dict[str, Any],
        at: datetime,
    ) -> str:
        last = db.execute("SELECT seq, hash FROM audit_trail ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        stamp = _iso(at)
        body = canonical(payload)
        digest = chain_hash(prev, _trail_entry(seq, stamp, user, case_id, action, body))
        db.execute(
            "INSERT INTO audit_trail VALUES (?,?,?,?,?,?,?,?)",
            (seq, stamp, user, case_id, action, body, prev, digest),
        )
        return digest

    def verify_trail(self, anchor: tuple[int, str] | None = None) -> TrailCheck:
        """Recompute the hash chain; name the first entry that does not verify.

        ``anchor`` = (seq, hash) recorded earlier outside the database (the head printed by
        a previous verification): the entry must still exist with that hash, which catches
        a truncated trail or one rewritten wholesale from an edited entry on."""
        prev = GENESIS
        count = 0
        expected_seq = 1
        with self._connect() as db:
            rows = db.execute(
                "SELECT seq, at, user, case_id, action, payload, prev_hash, hash"
                " FROM audit_trail ORDER BY seq"
            )
            for seq, at, user, case_id, action, payload, prev_hash, digest in rows:
                count += 1
                if seq != expected_seq:
                    return TrailCheck(count, False, expected_seq, f"entry {expected_seq} missing")
                if prev_hash != prev:
                    return TrailCheck(
                        count, False, seq, "prev_hash does not match the previous entry's hash"
                    )
                actual = chain_hash(prev, _trail_entry(seq, at, user, case_id, action, payload))
                if actual != digest:
                    return TrailCheck(count, False, seq, "content does not match its hash")
                if anchor is not None and seq == anchor[0] and digest != anchor[1]:
                    return TrailCheck(count, False, seq, "hash differs from the recorded anchor")
                prev = digest
                expected_seq += 1
        if anchor is not None and anchor[0] > count:
            return TrailCheck(count, False, count + 1, f"entry {anchor[0]} (anchor) missing")
        return TrailCheck(count, True, None, None, f"{count}:{prev}" if count else None)

    # ---- reading ---------------------------------------------------------------------

    def get(self, case_id: str) -> Case:
        with self._connect() as db:
            return self._get(db, case_id)

    def _get(self, db: sqlite3.Connection, case_id: str) -> Case:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM alert_case WHERE case_id = ?", (case_id,)).fetchone()
        db.row_factory = None
        if row is None:
            raise CaseNotFoundError(f"case {case_id!r} does not exist")
        return _case(dict(row))

    def find(self, alert_type: str, source_ref: str) -> Case | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT case_id FROM alert_case WHERE alert_type = ? AND source_ref = ?",
                (alert_type, source_ref),
            ).fetchone()
            return None if row is None else self._get(db, row[0])

    def cases(self, *, status: str | None = None, include_closed: bool = True) -> list[Case]:
        sql = "SELECT case_id FROM alert_case"
        params: list[str] = []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        elif not include_closed:
            sql += " WHERE status != 'closed'"
        with self._connect() as db:
            ids = [r[0] for r in db.execute(sql + " ORDER BY opened_at, case_id", params)]
            return [self._get(db, i) for i in ids]

    def entries(self, case_id: str) -> list[Entry]:
        with self._connect() as db:
            return _entries(db, case_id)

    def identifiers(self, case_id: str) -> list[dict[str, Any]]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT i.*, (SELECT count(*) FROM quarantine_lock l WHERE l.case_id = i.case_id"
                " AND l.identifier = i.identifier AND l.released_at IS NULL) > 0 AS locked"
                " FROM case_identifier i WHERE case_id = ? ORDER BY role DESC, level DESC,"
                " identifier",
                (case_id,),
            ).fetchall()
            return [dict(r) for r in rows]

    def signatures(self, case_id: str) -> list[Signature]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT signature_id, case_id, entry_id, user, full_name, meaning, signed_at,"
                " record_hash FROM signature WHERE case_id = ? ORDER BY signature_id",
                (case_id,),
            ).fetchall()
        return [
            Signature(r[0], r[1], r[2], r[3], r[4], r[5], datetime.fromisoformat(r[6]), r[7])
            for r in rows
        ]

    def trail(self, case_id: str | None = None) -> list[dict[str, Any]]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            sql = "SELECT * FROM audit_trail"
            rows = (
                db.execute(sql + " WHERE case_id = ? ORDER BY seq", (case_id,))
                if case_id
                else db.execute(sql + " ORDER BY seq")
            ).fetchall()
            return [dict(r) for r in rows]

    # ---- opening ---------------------------------------------------------------------

    def open_case(self, alert: Alert, affected: list[Affected], *, user: str) -> tuple[Case, bool]:
        """Open a case for ``alert`` and lock everything ``affected`` (all in one
        transaction). Idempotent on (type, source_ref): returns ``(case, False)`` when the
        alert was already raised."""
        if not affected:
            raise ValidationError("identifiers", "an alert needs at least one identifier")
        policy = POLICIES[alert.alert_type]
        now = self.clock()
        raised = alert.raised_at or now
        with self._tx() as db:
            existing = db.execute(
                "SELECT case_id FROM alert_case WHERE alert_type = ? AND source_ref = ?",
                (alert.alert_type.value, alert.source_ref),
            ).fetchone()
            if existing:
                return self._get(db, existing[0]), False
            year = now.year
            row = db.execute("SELECT last FROM case_counter WHERE year = ?", (year,)).fetchone()
            number = (row[0] if row else 0) + 1
            db.execute("INSERT OR REPLACE INTO case_counter VALUES (?, ?)", (year, number))
            case_id = f"ALR-{year}-{number:06d}"
            severity = (alert.severity or policy.severity).value
            market = alert.market or policy.market
            db.execute(
                "INSERT INTO alert_case (case_id, alert_type, source_ref, title, severity, market,"
                " detail, status, assignee, raised_at, opened_at, opened_by, sla_due_at,"
                " version, updated_at, updated_by) VALUES (?,?,?,?,?,?,?,?,NULL,?,?,?,?,1,?,?)",
                (
                    case_id,
                    alert.alert_type.value,
                    alert.source_ref,
                    alert.title,
                    severity,
                    market,
                    canonical(alert.detail),
                    CaseStatus.OPEN.value,
                    _iso(raised),
                    _iso(now),
                    user,
                    _iso(raised + policy.sla),
                    _iso(now),
                    user,
                ),
            )
            db.executemany(
                "INSERT INTO case_identifier VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        case_id,
                        a.identifier,
                        a.level,
                        a.role,
                        a.parent,
                        a.gtin,
                        a.serial,
                        a.sscc,
                        a.lot,
                        None if a.expiry is None else a.expiry.isoformat(),
                        a.status,
                        a.case_sscc,
                        a.pallet_sscc,
                    )
                    for a in affected
                ],
            )
            locked = lock_in(
                db, case_id, [a.identifier for a in affected], reason=alert.title, user=user, at=now
            )
            self._entry(
                db,
                case_id,
                EntryKind.RAISED,
                alert.title,
                {"source": alert.alert_type.value, "source_ref": alert.source_ref},
                user,
                now,
            )
            self._trail(
                db,
                user,
                case_id,
                "case.opened",
                {
                    "alert_type": alert.alert_type.value,
                    "source_ref": alert.source_ref,
                    "title": alert.title,
                    "severity": severity,
                    "detail": alert.detail,
                    "identifiers": [a.identifier for a in affected],
                },
                now,
            )
            self._trail(
                db,
                user,
                case_id,
                "quarantine.locked",
                {"identifiers": len(affected), "newly_locked": locked},
                now,
            )
            return self._get(db, case_id), True

    # ---- changing --------------------------------------------------------------------

    def _entry(
        self,
        db: sqlite3.Connection,
        case_id: str,
        kind: EntryKind,
        text: str,
        data: dict[str, Any],
        user: str,
        at: datetime,
    ) -> int:
        cur = db.execute(
            "INSERT INTO case_entry (case_id, kind, text, data, user, at) VALUES (?,?,?,?,?,?)",
            (case_id, kind.value, text, canonical(data), user, _iso(at)),
        )
        return int(cur.lastrowid or 0)

    @contextmanager
    def _change(
        self, case_id: str, expected_version: int | None, user: str
    ) -> Iterator[tuple[sqlite3.Connection, Case, datetime]]:
        """One change of a case: check the version, bump it, commit (or nothing)."""
        now = self.clock()
        with self._tx() as db:
            case = self._get(db, case_id)
            if expected_version is not None and case.version != expected_version:
                raise StaleCaseError(
                    f"case {case_id} was changed by {case.updated_by} at "
                    f"{case.updated_at:%Y-%m-%d %H:%M:%S} UTC (version {case.version}, you "
                    f"read version {expected_version}): reload it and apply your change again"
                )
            if case.status == CaseStatus.CLOSED:
                raise ValidationError("case", f"{case_id} is closed; it can no longer change")
            yield db, case, now
            db.execute(
                "UPDATE alert_case SET version = version + 1, updated_at = ?, updated_by = ?"
                " WHERE case_id = ? AND version = ?",
                (_iso(now), user, case_id, case.version),
            )

    def assign(
        self, case_id: str, assignee: str, *, user: str, expected_version: int | None = None
    ) -> Case:
        with self._change(case_id, expected_version, user) as (db, case, now):
            db.execute(
                "UPDATE alert_case SET assignee = ?, status = ? WHERE case_id = ?",
                (assignee, CaseStatus.INVESTIGATING.value, case_id),
            )
            data = {"from": case.assignee, "to": assignee}
            self._entry(
                db, case_id, EntryKind.ASSIGNMENT, f"assigned to {assignee}", data, user, now
            )
            self._trail(db, user, case_id, "case.assigned", data, now)
        return self.get(case_id)

    def add_entry(
        self,
        case_id: str,
        kind: EntryKind,
        text: str,
        *,
        user: str,
        data: dict[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> Case:
        """An investigation step, finding, evidence or note (append-only)."""
        if kind not in (EntryKind.STEP, EntryKind.FINDING, EntryKind.EVIDENCE, EntryKind.NOTE):
            raise ValidationError("kind", f"use step, finding, evidence or note, not {kind}")
        if not text.strip():
            raise ValidationError("text", "must not be empty")
        with self._change(case_id, expected_version, user) as (db, _case, now):
            entry_id = self._entry(db, case_id, kind, text.strip(), data or {}, user, now)
            self._trail(
                db,
                user,
                case_id,
                f"entry.{kind.value}",
                {"entry_id": entry_id, "text": text.strip(), "data": data or {}},
                now,
            )
        return self.get(case_id)

    def determine(
        self,
        case_id: str,
        classification: Classification,
        text: str,
        *,
        user: str,
        expected_version: int | None = None,
    ) -> Case:
        """Record that the product is determined illegitimate: the DSCSA 24 h clock starts."""
        with self._change(case_id, expected_version, user) as (db, case, now):
            if case.determined_at is not None:
                raise ValidationError("case", f"{case_id} was already determined illegitimate")
            db.execute(
                "UPDATE alert_case SET determined_at = ?, classification = ? WHERE case_id = ?",
                (_iso(now), classification.value, case_id),
            )
            data = {"classification": classification.value}
            self._entry(db, case_id, EntryKind.DETERMINATION, text, data, user, now)
            self._trail(db, user, case_id, "case.determined", {**data, "text": text}, now)
        return self.get(case_id)

    def record_escalation(
        self, case_id: str, rule_id: str, recipients: list[str], channel: str, text: str
    ) -> bool:
        """Record one escalation (once per case and rule); False when already sent."""
        now = self.clock()
        with self._tx() as db:
            try:
                db.execute(
                    "INSERT INTO escalation_sent VALUES (?,?,?,?,?)",
                    (case_id, rule_id, _iso(now), ",".join(recipients), channel),
                )
            except sqlite3.IntegrityError:
                return False
            data = {"rule": rule_id, "recipients": recipients, "channel": channel}
            self._entry(db, case_id, EntryKind.ESCALATION, text, data, "system", now)
            self._trail(db, "system", case_id, "case.escalated", data, now)
            return True

    def escalations(self, case_id: str) -> set[str]:
        with self._connect() as db:
            return {
                r[0]
                for r in db.execute(
                    "SELECT rule_id FROM escalation_sent WHERE case_id = ?", (case_id,)
                )
            }

    # ---- signatures and disposition -------------------------------------------------

    def record_hash(self, case_id: str, through_entry: int) -> str:
        with self._connect() as db:
            return _record_hash(db, self._get(db, case_id), through_entry)

    def sign(
        self,
        case_id: str,
        users: UserStore,
        name: str,
        password: str,
        meaning: str,
        *,
        expected_version: int | None = None,
    ) -> Signature:
        """An electronic signature (21 CFR 11): the signer re-enters their credentials; the
        signature records name, meaning and time and the hash of the record it signs."""
        signer = self._authenticate(users, name, password, case_id)
        self._check_meaning(meaning, signer)
        with self._change(case_id, expected_version, signer.name) as (db, case, now):
            return self._sign(db, case, signer, meaning, now)

    def _authenticate(self, users: UserStore, name: str, password: str, case_id: str) -> User:
        """Re-authenticate a signer; a failed attempt is itself written to the trail
        (21 CFR 11.300(d): attempted unauthorized use is recorded)."""
        try:
            return users.authenticate(name, password)
        except AuthenticationError:
            with self._tx() as db:
                self._get(db, case_id)  # an unknown case is reported as such
                self._trail(
                    db,
                    name,
                    case_id,
                    "signature.refused",
                    {"reason": "wrong credentials or disabled user"},
                    self.clock(),
                )
            raise

    def _check_meaning(self, meaning: str, signer: User) -> None:
        if meaning not in MEANINGS:
            raise ValidationError("meaning", f"one of {', '.join(MEANINGS)}, got {meaning!r}")
        if meaning == "approved" and not signer.has_role("quality", "admin"):
            raise ValidationError(
                "meaning", f"approved: {signer.name} needs the quality or admin role"
            )
        if signer.has_role("auditor") and not signer.has_role("quality", "admin"):
            raise ValidationError("user", f"{signer.name} is an auditor: read-only")

    def _sign(
        self, db: sqlite3.Connection, case: Case, signer: User, meaning: str, now: datetime
    ) -> Signature:
        last = db.execute(
            "SELECT max(entry_id) FROM case_entry WHERE case_id = ?", (case.case_id,)
        ).fetchone()[0]
        digest = _record_hash(db, case, int(last))
        cur = db.execute(
            "INSERT INTO signature (case_id, entry_id, user, full_name, meaning, signed_at,"
            " record_hash) VALUES (?,?,?,?,?,?,?)",
            (case.case_id, last, signer.name, signer.full_name, meaning, _iso(now), digest),
        )
        self._trail(
            db,
            signer.name,
            case.case_id,
            "signature.applied",
            {
                "signature_id": cur.lastrowid,
                "full_name": signer.full_name,
                "meaning": meaning,
                "signed_entry": last,
                "record_hash": digest,
            },
            now,
        )
        return Signature(
            int(cur.lastrowid or 0),
            case.case_id,
            int(last),
            signer.name,
            signer.full_name,
            meaning,
            now,
            digest,
        )

    def dispose(
        self,
        case_id: str,
        disposition: Disposition,
        text: str,
        users: UserStore,
        name: str,
        password: str,
        *,
        meaning: str = "approved",
        expected_version: int | None = None,
        before_close: Callable[[Case], dict[str, Any]] | None = None,
    ) -> tuple[Case, Signature]:
        """Close the case with a signed disposition. *cleared* releases the locks;
        *illegitimate* needs a prior determination; ``before_close`` (run inside the
        transaction: if it fails nothing is written) decommissions the serials
        (:func:`alerts.service.dispose_case`); their locks stay, so verification keeps
        answering suspect and shipping stays refused."""
        signer = self._authenticate(users, name, password, case_id)
        self._check_meaning(meaning, signer)
        if not text.strip():
            raise ValidationError("text", "say why (it is part of the signed record)")
        with self._change(case_id, expected_version, signer.name) as (db, case, now):
            if disposition == Disposition.ILLEGITIMATE and case.determined_at is None:
                raise ValidationError(
                    "disposition", "illegitimate needs a determination first (alerts determine)"
                )
            outcome = before_close(case) if before_close else {}
            data = {"disposition": disposition.value, **outcome}
            self._entry(db, case_id, EntryKind.DISPOSITION, text.strip(), data, signer.name, now)
            signature = self._sign(db, case, signer, meaning, now)
            released = (
                release_in(db, case_id, user=signer.name, at=now)
                if disposition == Disposition.CLEARED
                else 0  # illegitimate product stays locked: verification keeps answering suspect
            )
            db.execute(
                "UPDATE alert_case SET status = ?, disposition = ?, closed_at = ?, closed_by = ?"
                " WHERE case_id = ?",
                (CaseStatus.CLOSED.value, disposition.value, _iso(now), signer.name, case_id),
            )
            self._trail(
                db,
                signer.name,
                case_id,
                "case.closed",
                {**data, "text": text.strip(), "locks_released": released},
                now,
            )
        return self.get(case_id), signature

    def verify_signature(self, signature: Signature) -> bool:
        """True when the record the signature covers still hashes to its record_hash."""
        return self.record_hash(signature.case_id, signature.entry_id) == signature.record_hash


def _trail_entry(
    seq: int, at: str, user: str, case_id: str | None, action: str, payload: str
) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": at,
        "user": user,
        "case_id": case_id,
        "action": action,
        "payload": payload,
    }


def _entries(db: sqlite3.Connection, case_id: str, through: int | None = None) -> list[Entry]:
    sql = "SELECT entry_id, case_id, kind, text, data, user, at FROM case_entry WHERE case_id = ?"
    params: list[Any] = [case_id]
    if through is not None:
        sql += " AND entry_id <= ?"
        params.append(through)
    rows = db.execute(sql + " ORDER BY entry_id", params).fetchall()
    return [
        Entry(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], datetime.fromisoformat(r[6]))
        for r in rows
    ]


def _record_hash(db: sqlite3.Connection, case: Case, through_entry: int) -> str:
    """SHA-256 of the signed record: the case's fixed facts, its identifiers and every
    entry up to the signed one (entries are append-only, so this stays reproducible)."""
    identifiers = [
        r[0]
        for r in db.execute(
            "SELECT identifier FROM case_identifier WHERE case_id = ? ORDER BY identifier",
            (case.case_id,),
        )
    ]
    record = {
        "case_id": case.case_id,
        "alert_type": case.alert_type,
        "source_ref": case.source_ref,
        "title": case.title,
        "opened_at": _iso(case.opened_at),
        "opened_by": case.opened_by,
        "identifiers": identifiers,
        "entries": [
            {
                "id": e.entry_id,
                "kind": e.kind,
                "text": e.text,
                "data": e.data,
                "user": e.user,
                "at": _iso(e.at),
            }
            for e in _entries(db, case.case_id, through_entry)
        ],
    }
    return sha256(canonical(record))


def _case(row: dict[str, Any]) -> Case:
    return Case(
        case_id=row["case_id"],
        alert_type=row["alert_type"],
        source_ref=row["source_ref"],
        title=row["title"],
        severity=row["severity"],
        market=row["market"],
        detail=json.loads(row["detail"]),
        status=row["status"],
        assignee=row["assignee"],
        raised_at=datetime.fromisoformat(row["raised_at"]),
        opened_at=datetime.fromisoformat(row["opened_at"]),
        opened_by=row["opened_by"],
        sla_due_at=datetime.fromisoformat(row["sla_due_at"]),
        determined_at=_dt(row["determined_at"]),
        classification=row["classification"],
        disposition=row["disposition"],
        closed_at=_dt(row["closed_at"]),
        closed_by=row["closed_by"],
        version=row["version"],
        updated_at=datetime.fromisoformat(row["updated_at"]),
        updated_by=row["updated_by"],
    )
