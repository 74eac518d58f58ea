"""Outbound delivery through the ledger: queue, attempt, retry with backoff, record the
acknowledgement. The same code path serves every transport and the FMD uploads."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from partners.config import Partner
from partners.ledger import Delivery, DeliveryLedger, utcnow
from partners.transport import PermanentTransportError, Transport, TransportError
from serialtrace.errors import SerialtraceError
from serialtrace.settings import Home

EPCIS_SUFFIXES = (".xml", ".json", ".jsonld")
SIDECAR_SUFFIX = ".lineage.json"


def sha256_bytes(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def relative_to_home(home: Home, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(home.root.resolve()))
    except ValueError:
        return str(path)


def backoff(partner: Partner, attempt: int) -> timedelta:
    """Wait before attempt ``attempt + 1``: base, 2×base, 4×base... capped at one hour."""
    return timedelta(seconds=min(partner.retry_base_seconds * 2 ** (attempt - 1), 3600.0))


def document_format(path: Path) -> str | None:
    """``1.2-xml``, ``2.0-xml`` or ``2.0-jsonld`` from a document's content, else None."""
    if path.name.endswith(SIDECAR_SUFFIX) or path.suffix not in EPCIS_SUFFIXES:
        return None
    with path.open("rb") as handle:
        head = handle.read(65536)  # the root element with its namespace declarations
    if path.suffix in (".json", ".jsonld"):
        return "2.0-jsonld" if b"EPCISDocument" in head or b"epcis" in head.lower() else None
    if b'schemaVersion="1.2"' in head or b"schemaVersion='1.2'" in head:
        return "1.2-xml"
    if b'schemaVersion="2.0"' in head or b"schemaVersion='2.0'" in head:
        return "2.0-xml"
    return None


def outbox_documents(home: Home, partner: Partner, partner_ids: Sequence[str] = ()) -> list[Path]:
    """The outbox documents meant for a partner: those in ``<outbox>/<partner id>/`` if
    that folder exists, else every document of the outbox (the EPCIS stage writes
    ``<outbox>/<work order>/...``) in the partner's EPCIS format, except those in another
    partner's folder (``partner_ids``). An FMD market endpoint (role ``hub``) gets the JSON
    messages of its own folder only."""
    outbox = home.epcis_outbox
    own = outbox / partner.id
    if partner.role == "hub":
        if not own.is_dir():
            return []
        return sorted(p for p in own.iterdir() if p.is_file() and p.suffix == ".json")
    if own.is_dir():
        candidates = [p for p in own.rglob("*") if p.is_file()]
    elif outbox.is_dir():
        others = set(partner_ids) - {partner.id}
        candidates = [
            p
            for p in outbox.rglob("*")
            if p.is_file() and p.relative_to(outbox).parts[0] not in others
        ]
    else:
        return []
    return sorted(
        p
        for p in candidates
        if not p.name.startswith(".") and document_format(p) == partner.epcis_format
    )


def queue_file(ledger: DeliveryLedger, home: Home, partner: Partner, path: Path) -> Delivery:
    """The ledger entry of ``path`` for ``partner`` (existing, or new with a message ID)."""
    content = path.read_bytes()
    return ledger.enqueue(
        partner.id,
        partner.transport.kind,
        relative_to_home(home, path),
        path.name,
        sha256_bytes(content),
        len(content),
    )


def queue_pending(ledger: DeliveryLedger, home: Home, partner: Partner) -> list[Delivery]:
    """Queue every outbox document of the partner not yet in the ledger."""
    from partners.config import load_partners

    ids = [p.id for p in load_partners(home)]
    return [queue_file(ledger, home, partner, p) for p in outbox_documents(home, partner, ids)]


def _content(home: Home, delivery: Delivery) -> bytes:
    path = Path(delivery.file_path)
    if not path.is_absolute():
        path = home.root / path
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise PermanentTransportError(f"file {path} cannot be read: {exc}") from exc
    if sha256_bytes(content) != delivery.content_sha256:
        raise PermanentTransportError(
            f"file {path} changed since it was queued (SHA-256 differs): not sent"
        )
    return content


def attempt(
    ledger: DeliveryLedger,
    home: Home,
    partner: Partner,
    transport: Transport,
    delivery: Delivery,
    now: datetime | None = None,
) -> Delivery:
    """One attempt: counted in the ledger first, then transmitted, then its outcome
    recorded (retry later with backoff, failed when attempts are exhausted)."""
    number = ledger.begin_attempt(delivery.message_id, now)
    try:
        content = _content(home, delivery)
        outcome = transport.send(delivery, content)
    except PermanentTransportError as exc:
        ledger.attempt_failed(delivery.message_id, str(exc), None, now)
    except TransportError as exc:
        retry = backoff(partner, number) if number < partner.max_attempts else None
        reason = str(exc) if retry else f"{exc} (gave up after {number} attempts)"
        ledger.attempt_failed(delivery.message_id, reason, retry, now)
    else:
        deadline = timedelta(minutes=partner.ack_deadline_minutes)
        if outcome.status == "acknowledged":
            ledger.mark_sent(delivery.message_id, deadline, outcome.detail, outcome.mic, now)
            ledger.acknowledge(
                delivery.message_id, outcome.ack_kind, outcome.detail, outcome.ack_message_id
            )
        elif outcome.status == "rejected":
            ledger.mark_sent(delivery.message_id, deadline, outcome.detail, outcome.mic, now)
            ledger.reject(
                delivery.message_id, outcome.ack_kind, outcome.detail, outcome.ack_message_id
            )
        else:
            ledger.mark_sent(delivery.message_id, deadline, outcome.detail, outcome.mic, now)
    updated = ledger.get(delivery.message_id)
    assert updated is not None
    return updated


def deliver_due(
    ledger: DeliveryLedger,
    home: Home,
    partner: Partner,
    transport: Transport,
    now: datetime | None = None,
) -> list[Delivery]:
    """One attempt for every queued delivery of the partner whose retry time has come."""
    return [attempt(ledger, home, partner, transport, d, now) for d in ledger.due(partner.id, now)]


def deliver_until_settled(
    ledger: DeliveryLedger,
    home: Home,
    partner: Partner,
    transport: Transport,
    delivery: Delivery,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Attempt a delivery, waiting out the backoff, until it leaves ``queued``."""
    current = delivery
    while current.status == "queued":
        wait = (current.next_attempt_at - utcnow()).total_seconds()
        if wait > 0:
            sleep(wait)
        current = attempt(ledger, home, partner, transport, current)
    return current


def send_file(
    home: Home,
    partner: Partner,
    transport: Transport,
    path: Path,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Queue ``path`` for ``partner`` and deliver it (with retries); a file already
    delivered is not sent again (its ledger entry is returned)."""
    if not path.is_file():
        raise SerialtraceError(f"file {path} does not exist")
    with DeliveryLedger(home.partners_ledger) as ledger:
        delivery = queue_file(ledger, home, partner, path)
        return deliver_until_settled(ledger, home, partner, transport, delivery, sleep)


def drop_pending(
    home: Home, partner: Partner, transport: Transport, now: datetime | None = None
) -> list[Delivery]:
    """A scheduled drop: queue the partner's new outbox documents, then one attempt for
    every delivery that is due (new ones and retries whose backoff has elapsed)."""
    with DeliveryLedger(home.partners_ledger) as ledger:
        queue_pending(ledger, home, partner)
        return deliver_due(ledger, home, partner, transport, now)
