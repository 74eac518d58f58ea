"""Onboarding: configure → send a test message → acknowledgement confirmed → go live.

The state lives in the ledger database (``onboarding`` table): the test message's ID and
the moment the partner went live. A partner is *live* when ``go_live = true`` in its
config (already onboarded elsewhere) or when ``serialtrace partners go-live`` recorded it,
which is only allowed once the test message was acknowledged. Scheduled drops deliver
only to live partners.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from partners.config import Partner
from partners.delivery import deliver_until_settled, queue_file
from partners.ledger import Delivery, DeliveryLedger, utcnow
from partners.transport import Transport
from serialtrace.errors import SerialtraceError
from serialtrace.settings import Home


@dataclass(frozen=True)
class PartnerStatus:
    partner: Partner
    stage: str  # configured | test sent | test failed | test acknowledged | live
    test: Delivery | None
    live_since: datetime | None
    counts: dict[str, int]
    last_activity: datetime | None

    @property
    def live(self) -> bool:
        return self.stage == "live"


def test_document(partner: Partner, now: datetime) -> tuple[str, bytes]:
    """An empty, schema-valid EPCIS document in the partner's format (file name, bytes)."""
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    created = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if partner.epcis_format == "2.0-jsonld":
        body = (
            '{"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],'
            f' "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "{created}",'
            ' "epcisBody": {"eventList": []}}\n'
        )
        return f"onboarding-test-{partner.id}-{stamp}.jsonld", body.encode()
    if partner.epcis_format == "2.0-xml":
        namespace, version = "urn:epcglobal:epcis:xsd:2", "2.0"
    else:
        namespace, version = "urn:epcglobal:epcis:xsd:1", "1.2"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<epcis:EPCISDocument xmlns:epcis="{namespace}" schemaVersion="{version}"'
        f' creationDate="{created}">\n'
        f"  <!-- Serialtrace onboarding test message for {partner.id} -->\n"
        "  <EPCISBody><EventList/></EPCISBody>\n"
        "</epcis:EPCISDocument>\n"
    )
    return f"onboarding-test-{partner.id}-{stamp}.xml", body.encode()


def status(ledger: DeliveryLedger, partner: Partner) -> PartnerStatus:
    test_id, live_since = ledger.onboarding(partner.id)
    test = ledger.get(test_id) if test_id else None
    deliveries = ledger.deliveries(partner.id)
    counts: dict[str, int] = {}
    for d in deliveries:
        counts[d.status] = counts.get(d.status, 0) + 1
    moments = [m for d in deliveries for m in (d.acknowledged_at, d.sent_at, d.queued_at) if m]
    if partner.go_live or live_since:
        stage = "live"
    elif test is None:
        stage = "configured"
    elif test.status == "acknowledged":
        stage = "test acknowledged"
    elif test.status in ("failed", "rejected"):
        stage = "test failed"
    else:
        stage = "test sent"
    return PartnerStatus(partner, stage, test, live_since, counts, max(moments, default=None))


def send_test_message(home: Home, partner: Partner, transport: Transport) -> Delivery:
    """Write a test document under ``<home>/partners/tests/`` and deliver it (ledger,
    retries); the partner's acknowledgement of it unlocks go-live."""
    name, content = test_document(partner, utcnow())
    folder = home.root / "partners" / "tests"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    with DeliveryLedger(home.partners_ledger) as ledger:
        delivery = queue_file(ledger, home, partner, path)
        ledger.set_test_message(partner.id, delivery.message_id)
        return deliver_until_settled(ledger, home, partner, transport, delivery)


def go_live(home: Home, partner: Partner) -> PartnerStatus:
    with DeliveryLedger(home.partners_ledger) as ledger:
        current = status(ledger, partner)
        if current.live:
            return current
        if current.stage != "test acknowledged":
            raise SerialtraceError(
                f"partner {partner.id}: cannot go live at stage '{current.stage}': send a test "
                f"message (serialtrace partners test {partner.id}) and get it acknowledged first"
            )
        ledger.set_live(partner.id)
        return status(ledger, partner)
