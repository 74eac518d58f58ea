"""The delivery ledger: every file sent to or received from a trading partner (SQLite).

One row per (direction, partner, content SHA-256): a file's content gets ONE message ID
the first time it is queued and keeps it for every attempt, so a resend after a crash or
a failed attempt carries the same message ID and the partner can deduplicate. The message
ID is committed before the first byte leaves; an attempt is committed (``attempts`` + 1)
before the transport is called, and its outcome after. A process killed between the two
leaves the row ``queued`` with the attempt counted, and the next run resends it under the
same message ID.

Statuses: outbound ``queued`` → ``sent`` (transport accepted, acknowledgement pending) →
``acknowledged``; or ``rejected`` (the partner answered with an error, e.g. a negative
MDN) or ``failed`` (attempts exhausted or permanent error; ``failure_reason`` says why).
Inbound files are ``received`` (stored under ``<home>/epcis/inbox/<partner>/``) and then
``acknowledged`` (handed to the EPCIS ingest) or ``rejected``.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from serialtrace.acting import acting_name

OUTBOUND_STATUSES = ("queued", "sent", "acknowledged", "failed", "rejected")
INBOUND_STATUSES = ("received", "acknowledged", "rejected")

_SCHEMA = """
create table if not exists deliveries (
    delivery_id      integer primary key,
    direction        text not null check (direction in ('outbound', 'inbound')),
    partner_id       text not null,
    transport        text not null,
    file_name        text not null,
    file_path        text not null,
    content_sha256   text not null,
    bytes            integer not null,
    message_id       text not null unique,
    status           text not null,
    attempts         integer not null default 0,
    queued_at        text not null,
    next_attempt_at  text not null,
    last_attempt_at  text,
    sent_at          text,
    acknowledged_at  text,
    ack_deadline_at  text,
    ack_kind         text,
    ack_detail       text,
    ack_message_id   text,
    failure_reason   text,
    mic              text,
    unique (direction, partner_id, content_sha256)
);
create table if not exists delivery_attempts (
    delivery_id  integer not null references deliveries(delivery_id),
    attempt      integer not null,
    started_at   text not null,
    finished_at  text,
    outcome      text,
    detail       text,
    primary key (delivery_id, attempt)
);
create table if not exists onboarding (
    partner_id       text primary key,
    test_message_id  text,
    live_since       text
);
"""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def new_message_id(domain: str = "serialtrace") -> str:
    """A globally unique message ID (RFC 5322 ``id-left@id-right`` form, as AS2 needs)."""
    return f"ST-{uuid.uuid4().hex}@{domain}"


@dataclass(frozen=True)
class Delivery:
    delivery_id: int
    direction: str
    partner_id: str
    transport: str
    file_name: str
    file_path: str
    content_sha256: str
    bytes: int
    message_id: str
    status: str
    attempts: int
    queued_at: datetime
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    sent_at: datetime | None
    acknowledged_at: datetime | None
    ack_deadline_at: datetime | None
    ack_kind: str | None
    ack_detail: str | None
    ack_message_id: str | None
    failure_reason: str | None
    mic: str | None
    queued_by: str = ""  # the acting user who queued it (serialtrace/acting.py)

    @property
    def message_key(self) -> str:
        """The message ID's unique part, safe in a file name."""
        return self.message_id.split("@", 1)[0]


def _delivery(row: sqlite3.Row) -> Delivery:
    data: dict[str, Any] = dict(row)
    for key in (
        "queued_at",
        "next_attempt_at",
        "last_attempt_at",
        "sent_at",
        "acknowledged_at",
        "ack_deadline_at",
    ):
        data[key] = _parse(data[key])
    return Delivery(**data)


class DeliveryLedger:
    """The ledger at ``home.partners_ledger``. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._con = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._con.row_factory = sqlite3.Row
        self._con.execute("pragma journal_mode=wal")
        self._con.execute("pragma synchronous=full")  # a committed message ID survives a crash
        self._con.executescript(_SCHEMA)
        for table, column in (
            ("deliveries", "queued_by"),
            ("onboarding", "test_by"),
            ("onboarding", "live_by"),
        ):  # the acting user of each change (added to ledgers of older versions)
            if column not in {r[1] for r in self._con.execute(f"pragma table_info({table})")}:
                self._con.execute(
                    f"alter table {table} add column {column} text not null default ''"
                )

    def __enter__(self) -> DeliveryLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._con.execute("begin immediate")
        try:
            yield self._con
        except BaseException:
            self._con.execute("rollback")
            raise
        self._con.execute("commit")

    # ------------------------------------------------------------------ outbound

    def enqueue(
        self,
        partner_id: str,
        transport: str,
        file_path: str,
        file_name: str,
        content_sha256: str,
        size: int,
        now: datetime | None = None,
    ) -> Delivery:
        """The outbound delivery of this content to this partner: the existing one (same
        message ID, whatever its status) or a new ``queued`` one with a new message ID."""
        moment = _iso(now or utcnow())
        with self._tx() as con:
            con.execute(
                "insert or ignore into deliveries (direction, partner_id, transport, file_name,"
                " file_path, content_sha256, bytes, message_id, status, queued_at,"
                " next_attempt_at, queued_by)"
                " values ('outbound', ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
                (
                    partner_id,
                    transport,
                    file_name,
                    file_path,
                    content_sha256,
                    size,
                    new_message_id(),
                    moment,
                    moment,
                    acting_name("service"),
                ),
            )
        found = self.find("outbound", partner_id, content_sha256)
        assert found is not None
        return found

    def find(self, direction: str, partner_id: str, content_sha256: str) -> Delivery | None:
        row = self._con.execute(
            "select * from deliveries where direction = ? and partner_id = ?"
            " and content_sha256 = ?",
            (direction, partner_id, content_sha256),
        ).fetchone()
        return _delivery(row) if row else None

    def get(self, message_id: str) -> Delivery | None:
        row = self._con.execute(
            "select * from deliveries where message_id = ?", (message_id,)
        ).fetchone()
        return _delivery(row) if row else None

    def due(self, partner_id: str, now: datetime | None = None) -> list[Delivery]:
        """Outbound deliveries of the partner waiting for an attempt whose time has come."""
        rows = self._con.execute(
            "select * from deliveries where direction = 'outbound' and partner_id = ?"
            " and status = 'queued' and next_attempt_at <= ? order by delivery_id",
            (partner_id, _iso(now or utcnow())),
        ).fetchall()
        return [_delivery(r) for r in rows]

    def begin_attempt(self, message_id: str, now: datetime | None = None) -> int:
        """Count an attempt BEFORE the transport is called; returns its number."""
        moment = _iso(now or utcnow())
        with self._tx() as con:
            row = con.execute(
                "select delivery_id, attempts, status from deliveries where message_id = ?",
                (message_id,),
            ).fetchone()
            if row is None:
                raise KeyError(message_id)
            if row["status"] != "queued":
                raise ValueError(f"delivery {message_id} is {row['status']}, not queued")
            attempt = int(row["attempts"]) + 1
            con.execute(
                "update deliveries set attempts = ?, last_attempt_at = ? where delivery_id = ?",
                (attempt, moment, row["delivery_id"]),
            )
            con.execute(
                "insert into delivery_attempts (delivery_id, attempt, started_at) values (?, ?, ?)",
                (row["delivery_id"], attempt, moment),
            )
        return attempt

    def _finish_attempt(
        self, con: sqlite3.Connection, message_id: str, outcome: str, detail: str, moment: str
    ) -> None:
        con.execute(
            "update delivery_attempts set finished_at = ?, outcome = ?, detail = ?"
            " where delivery_id = (select delivery_id from deliveries where message_id = ?)"
            " and finished_at is null",
            (moment, outcome, detail, message_id),
        )

    def record_mic(self, message_id: str, mic: str | None) -> None:
        """The MIC of a message about to be sent, kept before the transport is called: an
        asynchronous MDN can be posted back before the sending call returns, and is
        verified against it."""
        if mic is None:
            return
        with self._tx() as con:
            con.execute("update deliveries set mic = ? where message_id = ?", (mic, message_id))

    def mark_sent(
        self,
        message_id: str,
        ack_deadline: timedelta,
        detail: str = "",
        mic: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """The transport accepted the file; its acknowledgement is due within the deadline.

        An answer can overtake the transport's return (an asynchronous MDN posted back
        before the sending call came back): a delivery already acknowledged or rejected
        keeps that status; only its MIC is completed."""
        moment = now or utcnow()
        with self._tx() as con:
            self._finish_attempt(con, message_id, "sent", detail, _iso(moment))
            con.execute(
                "update deliveries set status = 'sent', sent_at = ?, ack_deadline_at = ?,"
                " failure_reason = null, mic = coalesce(?, mic)"
                " where message_id = ? and status not in ('acknowledged', 'rejected')",
                (_iso(moment), _iso(moment + ack_deadline), mic, message_id),
            )
            con.execute(
                "update deliveries set mic = coalesce(mic, ?) where message_id = ?",
                (mic, message_id),
            )

    def acknowledge(
        self,
        message_id: str,
        ack_kind: str,
        ack_detail: str,
        ack_message_id: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """A positive acknowledgement (MDN, HTTP 2xx, verified remote copy...)."""
        self._answered(message_id, "acknowledged", ack_kind, ack_detail, ack_message_id, now)

    def reject(
        self,
        message_id: str,
        ack_kind: str,
        ack_detail: str,
        ack_message_id: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """A negative acknowledgement: the partner received the file and refused it."""
        self._answered(message_id, "rejected", ack_kind, ack_detail, ack_message_id, now)

    def _answered(
        self,
        message_id: str,
        outcome: str,
        ack_kind: str,
        ack_detail: str,
        ack_message_id: str | None,
        now: datetime | None,
    ) -> None:
        """The partner's answer (``acknowledged`` or ``rejected``): the attempt ends with
        it, and a refusal keeps its detail as the failure reason."""
        moment = _iso(now or utcnow())
        failure = ack_detail if outcome == "rejected" else None
        with self._tx() as con:
            self._finish_attempt(con, message_id, outcome, ack_detail, moment)
            con.execute(
                "update deliveries set status = ?, acknowledged_at = ?,"
                " sent_at = coalesce(sent_at, ?), ack_kind = ?, ack_detail = ?,"
                " ack_message_id = ?, failure_reason = ? where message_id = ?",
                (
                    outcome,
                    moment,
                    moment,
                    ack_kind,
                    ack_detail,
                    ack_message_id,
                    failure,
                    message_id,
                ),
            )

    def attempt_failed(
        self,
        message_id: str,
        reason: str,
        retry_in: timedelta | None,
        now: datetime | None = None,
    ) -> str:
        """Record a failed attempt: back to ``queued`` for a retry after ``retry_in``, or
        ``failed`` with the reason when ``retry_in`` is None. Returns the new status."""
        moment = now or utcnow()
        status = "queued" if retry_in is not None else "failed"
        next_at = moment + (retry_in or timedelta(0))
        with self._tx() as con:
            self._finish_attempt(con, message_id, "error", reason, _iso(moment))
            con.execute(
                "update deliveries set status = ?, next_attempt_at = ?, failure_reason = ?"
                " where message_id = ?",
                (status, _iso(next_at), reason, message_id),
            )
        return status

    def requeue(self, message_id: str, now: datetime | None = None) -> None:
        """Send a failed delivery again (same message ID), e.g. after fixing the config."""
        with self._tx() as con:
            con.execute(
                "update deliveries set status = 'queued', next_attempt_at = ?, attempts = 0"
                " where message_id = ? and status = 'failed'",
                (_iso(now or utcnow()), message_id),
            )

    # ------------------------------------------------------------------ inbound

    def record_inbound(
        self,
        partner_id: str,
        transport: str,
        file_path: str,
        file_name: str,
        content_sha256: str,
        size: int,
        message_id: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Delivery, bool]:
        """Record a stored inbound file; returns (delivery, True if new). A file already
        received (same partner and content) is not recorded twice."""
        moment = _iso(now or utcnow())
        with self._tx() as con:
            cursor = con.execute(
                "insert or ignore into deliveries (direction, partner_id, transport, file_name,"
                " file_path, content_sha256, bytes, message_id, status, attempts, queued_at,"
                " next_attempt_at, sent_at) values ('inbound', ?, ?, ?, ?, ?, ?, ?,"
                " 'received', 1, ?, ?, ?)",
                (
                    partner_id,
                    transport,
                    file_name,
                    file_path,
                    content_sha256,
                    size,
                    message_id or new_message_id("inbound.serialtrace"),
                    moment,
                    moment,
                    moment,
                ),
            )
            created = cursor.rowcount == 1
        found = self.find("inbound", partner_id, content_sha256)
        assert found is not None
        return found, created

    def set_inbound_status(self, message_id: str, status: str, detail: str) -> None:
        if status not in INBOUND_STATUSES:
            raise ValueError(f"inbound status must be one of {INBOUND_STATUSES}, got {status}")
        with self._tx() as con:
            con.execute(
                "update deliveries set status = ?, ack_detail = ?, acknowledged_at = ?"
                " where message_id = ? and direction = 'inbound'",
                (status, detail, _iso(utcnow()), message_id),
            )

    # ------------------------------------------------------------------ onboarding

    def set_test_message(self, partner_id: str, message_id: str) -> None:
        with self._tx() as con:
            con.execute(
                "insert into onboarding (partner_id, test_message_id, test_by) values (?, ?, ?)"
                " on conflict (partner_id) do update set"
                " test_message_id = excluded.test_message_id, test_by = excluded.test_by",
                (partner_id, message_id, acting_name("service")),
            )

    def onboarding_by(self, partner_id: str) -> tuple[str, str]:
        """Who sent the test message and who took the partner live ('' when not done)."""
        row = self._con.execute(
            "select test_by, live_by from onboarding where partner_id = ?", (partner_id,)
        ).fetchone()
        return (row["test_by"], row["live_by"]) if row else ("", "")

    def onboarding(self, partner_id: str) -> tuple[str | None, datetime | None]:
        """(test message ID, live since) of a partner."""
        row = self._con.execute(
            "select test_message_id, live_since from onboarding where partner_id = ?",
            (partner_id,),
        ).fetchone()
        if row is None:
            return None, None
        return row["test_message_id"], _parse(row["live_since"])

    def set_live(self, partner_id: str, now: datetime | None = None) -> None:
        with self._tx() as con:
            con.execute(
                "update onboarding set live_since = coalesce(live_since, ?),"
                " live_by = case when live_since is null then ? else live_by end"
                " where partner_id = ?",
                (_iso(now or utcnow()), acting_name("service"), partner_id),
            )

    # ------------------------------------------------------------------ queries

    def deliveries(self, partner_id: str | None = None) -> list[Delivery]:
        if partner_id is None:
            rows = self._con.execute("select * from deliveries order by delivery_id").fetchall()
        else:
            rows = self._con.execute(
                "select * from deliveries where partner_id = ? order by delivery_id",
                (partner_id,),
            ).fetchall()
        return [_delivery(r) for r in rows]

    def overdue(self, now: datetime | None = None) -> list[Delivery]:
        """Outbound files sent but not acknowledged past their partner's deadline."""
        rows = self._con.execute(
            "select * from deliveries where direction = 'outbound' and status = 'sent'"
            " and ack_deadline_at < ? order by delivery_id",
            (_iso(now or utcnow()),),
        ).fetchall()
        return [_delivery(r) for r in rows]

    def attempts(self, message_id: str) -> list[dict[str, Any]]:
        rows = self._con.execute(
            "select a.* from delivery_attempts a join deliveries d using (delivery_id)"
            " where d.message_id = ? order by a.attempt",
            (message_id,),
        ).fetchall()
        return [dict(r) for r in rows]
