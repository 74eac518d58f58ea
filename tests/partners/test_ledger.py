from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from partners.ledger import DeliveryLedger, utcnow


def test_one_message_id_per_partner_and_content(tmp_path: Path) -> None:
    with DeliveryLedger(tmp_path / "l.sqlite") as ledger:
        first = ledger.enqueue("p", "sftp", "a.xml", "a.xml", "h1", 3)
        again = ledger.enqueue("p", "sftp", "copy-of-a.xml", "copy-of-a.xml", "h1", 3)
        other_partner = ledger.enqueue("q", "sftp", "a.xml", "a.xml", "h1", 3)
        other_file = ledger.enqueue("p", "sftp", "b.xml", "b.xml", "h2", 3)
        assert again.message_id == first.message_id
        assert len({first.message_id, other_partner.message_id, other_file.message_id}) == 3
        assert first.message_id.startswith("ST-") and first.message_id.endswith("@serialtrace")


def test_retry_schedule_and_final_failure(tmp_path: Path) -> None:
    now = utcnow()
    with DeliveryLedger(tmp_path / "l.sqlite") as ledger:
        d = ledger.enqueue("p", "as2", "a.xml", "a.xml", "h", 1, now=now)
        assert ledger.begin_attempt(d.message_id, now) == 1
        assert ledger.attempt_failed(d.message_id, "down", timedelta(seconds=60), now) == "queued"
        assert ledger.due("p", now) == []  # waiting out the backoff
        assert [x.message_id for x in ledger.due("p", now + timedelta(seconds=61))] == [
            d.message_id
        ]
        assert ledger.begin_attempt(d.message_id, now) == 2
        assert ledger.attempt_failed(d.message_id, "still down", None, now) == "failed"
        failed = ledger.get(d.message_id)
        assert failed is not None and failed.failure_reason == "still down"
        ledger.requeue(d.message_id, now)
        requeued = ledger.get(d.message_id)
        assert requeued is not None and requeued.status == "queued"
        assert requeued.message_id == d.message_id


def test_overdue_acknowledgements(tmp_path: Path) -> None:
    now = utcnow()
    with DeliveryLedger(tmp_path / "l.sqlite") as ledger:
        late = ledger.enqueue("p", "as2", "a.xml", "a.xml", "h1", 1, now=now)
        on_time = ledger.enqueue("p", "as2", "b.xml", "b.xml", "h2", 1, now=now)
        for d in (late, on_time):
            ledger.begin_attempt(d.message_id, now)
            ledger.mark_sent(d.message_id, timedelta(minutes=30), now=now)
        ledger.acknowledge(on_time.message_id, "as2-async-mdn", "processed")
        later = now + timedelta(minutes=31)
        assert [d.message_id for d in ledger.overdue(later)] == [late.message_id]
        assert ledger.overdue(now + timedelta(minutes=29)) == []


def test_inbound_files_are_recorded_once(tmp_path: Path) -> None:
    with DeliveryLedger(tmp_path / "l.sqlite") as ledger:
        d, new = ledger.record_inbound("p", "sftp", "epcis/inbox/p/a.xml", "a.xml", "h", 5)
        again, new_again = ledger.record_inbound("p", "sftp", "x", "x", "h", 5)
        assert new and not new_again and again.message_id == d.message_id
        ledger.set_inbound_status(d.message_id, "acknowledged", "ingested")
        stored = ledger.get(d.message_id)
        assert stored is not None and stored.status == "acknowledged"


def test_an_answer_that_overtakes_the_send_is_kept(tmp_path: Path) -> None:
    """An asynchronous MDN posted back before the sending call returned: marking the
    delivery sent afterwards must not turn the acknowledgement back into 'sent'."""
    now = utcnow()
    with DeliveryLedger(tmp_path / "l.sqlite") as ledger:
        for outcome in ("acknowledged", "rejected"):
            d = ledger.enqueue("p", "as2", f"{outcome}.xml", f"{outcome}.xml", outcome, 1, now=now)
            ledger.begin_attempt(d.message_id, now)
            answer = ledger.acknowledge if outcome == "acknowledged" else ledger.reject
            answer(d.message_id, "as2-async-mdn", "processed", "mdn-1", now)
            ledger.mark_sent(d.message_id, timedelta(hours=1), mic="m1", now=now)
            got = ledger.get(d.message_id)
            assert got is not None
            assert (got.status, got.ack_kind, got.mic) == (outcome, "as2-async-mdn", "m1")
