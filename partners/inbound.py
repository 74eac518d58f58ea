"""Inbound partner files: stored under ``<home>/epcis/inbox/<partner>/``, recorded in the
ledger, then handed to the EPCIS ingest.

:func:`store_inbound` is what the AS2 endpoint calls; the SFTP pickup stores the same way
(streaming). :func:`ingest_received` hands every ``received`` file to the EPCIS ingest
through :data:`INGEST_HOOK` — the one place the EPCIS inbound stage is wired in.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from partners.config import As2Settings, load_partners
from partners.ledger import Delivery, DeliveryLedger
from serialtrace.settings import Home

if TYPE_CHECKING:
    from partners.as2 import As2Station

IngestHook = Callable[[Home, Path, str], str]
"""ingest(home, stored file, partner id) -> one-line result; raises to reject the file."""


def epcis_ingest_hook(home: Home, path: Path, partner_id: str) -> str:
    """Hand one stored inbound file to the EPCIS inbound stage
    (:func:`epcis.inbound.ingest_file`) under the partner's ``inbound_policy``; a refused
    file raises (the EPCIS stage moved it to ``epcis/rejected/`` with its reason)."""
    from epcis.inbound import ingest_file
    from partners.config import get_partner

    policy = get_partner(home, partner_id).inbound_policy
    result = ingest_file(home, path, partner_id=partner_id, policy=policy)
    return str(result)


INGEST_HOOK: IngestHook = epcis_ingest_hook


def _safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name.lstrip(".") or "message"
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in base)[:120]


def store_inbound(
    home: Home,
    partner_id: str,
    transport: str,
    file_name: str,
    content: bytes,
    message_id: str | None = None,
) -> Delivery:
    """Write the file (temp + fsync + rename) and record it; a file already received
    from the partner (same content) is neither stored nor recorded twice."""
    folder = home.epcis_inbox / partner_id
    folder.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(content).hexdigest()
    with DeliveryLedger(home.partners_ledger) as ledger:
        existing = ledger.find("inbound", partner_id, sha)
        if existing is not None:
            return existing
        target = folder / _safe_name(file_name)
        n = 1
        while target.exists():
            target = folder / f"{Path(_safe_name(file_name)).stem}.{n}{Path(file_name).suffix}"
            n += 1
        temporary = folder / f".{target.name}.part"
        with temporary.open("wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)
        delivery, _ = ledger.record_inbound(
            partner_id,
            transport,
            str(target.relative_to(home.root)),
            target.name,
            sha,
            len(content),
            message_id,
        )
        return delivery


def ingest_received(home: Home, hook: IngestHook | None = None) -> list[Delivery]:
    """Hand every ``received`` inbound file to the EPCIS ingest; ``acknowledged`` when it
    took the file, ``rejected`` with the reason when it refused it. Returns those handled."""
    ingest = hook or INGEST_HOOK
    handled: list[Delivery] = []
    with DeliveryLedger(home.partners_ledger) as ledger:
        for delivery in ledger.deliveries():
            if delivery.direction != "inbound" or delivery.status != "received":
                continue
            try:
                result = ingest(home, home.root / delivery.file_path, delivery.partner_id)
            except Exception as exc:
                ledger.set_inbound_status(delivery.message_id, "rejected", str(exc)[:500])
            else:
                ledger.set_inbound_status(delivery.message_id, "acknowledged", result[:500])
            updated = ledger.get(delivery.message_id)
            assert updated is not None
            handled.append(updated)
    return handled


def as2_station_for_home(home: Home, host: str = "127.0.0.1", port: int = 0) -> As2Station:
    """Our AS2 endpoint for every AS2 partner of the home (inbound messages stored with
    :func:`store_inbound`, asynchronous MDNs recorded in the ledger). Not started."""
    from partners.as2 import As2Station, StationPartner, load_keys

    partners: dict[str, StationPartner] = {}
    local_id = ""
    by_as2_id: dict[str, str] = {}
    for partner in load_partners(home):
        if isinstance(partner.transport, As2Settings):
            local_id = partner.transport.local_as2_id
            partners[partner.transport.partner_as2_id] = StationPartner(
                load_keys(home, partner.transport), partner.transport, partner.id
            )
            by_as2_id[partner.transport.partner_as2_id] = partner.id

    def on_payload(sender: str, message_id: str, name: str, payload: bytes) -> None:
        store_inbound(home, by_as2_id[sender], "as2", name, payload, message_id)

    station = As2Station(local_id, partners, on_payload, home.partners_ledger, host, port)
    if home.partners_ledger.exists():  # a resend of a message received before = duplicate
        with DeliveryLedger(home.partners_ledger) as ledger:
            station.seen_message_ids.update(
                d.message_id
                for d in ledger.deliveries()
                if d.direction == "inbound" and d.transport == "as2"
            )
    return station
