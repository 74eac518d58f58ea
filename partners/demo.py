"""The demo's partner step: deliver the batch's EPCIS document(s) to a local SFTP partner
(a real OpenSSH sshd on loopback) and a local AS2 partner (an in-process AS2 station with
its own certificate), through the delivery ledger, and report both acknowledgements.

The demo partners are ``acme-sftp`` and ``beta-as2`` of the embedded ``partners.toml``
(or of ``<home>/partners.toml``); their endpoints are replaced by the local peers started
here. Keys and certificates are generated under ``<home>/partners/`` on first use.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from partners.config import As2Settings, Partner, SftpSettings, load_partners
from partners.delivery import send_file
from partners.ledger import Delivery
from partners.localpeers import sshd_available, start_sshd, write_ed25519_key, write_self_signed
from serialtrace.settings import Home

Say = Callable[[str], None]
SFTP_DEMO_PARTNER = "acme-sftp"
AS2_DEMO_PARTNER = "beta-as2"


def _partner(home: Home, partner_id: str) -> Partner | None:
    return next((p for p in load_partners(home) if p.id == partner_id), None)


def _sftp(home: Home, partner: Partner, documents: Sequence[Path], say: Say) -> list[Delivery]:
    assert isinstance(partner.transport, SftpSettings)
    reason = sshd_available()
    if reason:
        say(f"      SFTP partner {partner.id}: SKIPPED, no local SFTP server: {reason}")
        return []
    key = home.root / partner.transport.key_file
    if not key.exists():
        write_ed25519_key(key, "serialtrace-demo")
    public = key.with_name(key.name + ".pub").read_text().strip()
    remote = home.root / "partners" / "demo" / partner.id
    for folder in ("inbound", "outbound"):
        (remote / folder).mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="serialtrace-sshd-") as run_dir,
        start_sshd(Path(run_dir), [public]) as sshd,
    ):
        local = dataclasses.replace(
            partner,
            transport=dataclasses.replace(
                partner.transport,
                host="127.0.0.1",
                port=sshd.port,
                username=sshd.username,
                host_key=sshd.host_key,
                remote_inbox=str(remote / "inbound"),
                remote_outbox=str(remote / "outbound"),
            ),
        )
        from partners.sftp import sftp_transport

        transport = sftp_transport(home, local)
        return [send_file(home, local, transport, doc, sleep=lambda _: None) for doc in documents]


def _as2(home: Home, partner: Partner, documents: Sequence[Path], say: Say) -> list[Delivery]:
    from partners.as2 import As2Keys, As2Station, StationPartner, as2_transport

    assert isinstance(partner.transport, As2Settings)
    settings = partner.transport
    ours, theirs = home.root / settings.key_file, home.root / settings.partner_cert_file
    station_dir = home.root / "partners" / "demo" / partner.id
    their_key = station_dir / "station-key.pem"
    if not ours.exists():
        write_self_signed(ours, ours.with_suffix(".crt"), settings.local_as2_id)
    if not theirs.exists() or not their_key.exists():
        write_self_signed(their_key, theirs, settings.partner_as2_id)
    received = station_dir / "received"
    received.mkdir(parents=True, exist_ok=True)

    def store(sender: str, message_id: str, name: str, payload: bytes) -> None:
        (received / f"{message_id.split('@')[0]}__{name}").write_bytes(payload)

    station_keys = As2Keys(
        settings.partner_as2_id,
        their_key.read_bytes(),
        None,
        settings.local_as2_id,
        ours.with_suffix(".crt").read_bytes(),
    )
    with As2Station(
        settings.partner_as2_id, {settings.local_as2_id: StationPartner(station_keys)}, store
    ) as station:
        local = dataclasses.replace(
            partner, transport=dataclasses.replace(settings, url=station.url, mdn="sync")
        )
        transport = as2_transport(home, local)
        return [send_file(home, local, transport, doc, sleep=lambda _: None) for doc in documents]


def demo_partners(home: Home, documents: Sequence[Path], say: Say) -> list[Delivery]:
    """Deliver ``documents`` to the demo SFTP and AS2 partners; returns the ledger entries."""
    deliveries: list[Delivery] = []
    for partner_id, deliver in ((SFTP_DEMO_PARTNER, _sftp), (AS2_DEMO_PARTNER, _as2)):
        partner = _partner(home, partner_id)
        if partner is None:
            say(f"      partner {partner_id}: SKIPPED, not in {home.root / 'partners.toml'}")
            continue
        deliveries += deliver(home, partner, documents, say)
    from partners.export import export_deliveries

    export_deliveries(home)
    for d in deliveries:
        outcome = d.ack_detail if d.status == "acknowledged" else d.failure_reason
        say(
            f"      {d.partner_id:<10} {d.transport:<4} {d.file_name}  {d.status}"
            f" ({d.ack_kind or '-'}: {outcome})  message {d.message_id}"
        )
    return deliveries


def refresh_scorecard(home: Home) -> None:
    """Rebuild the partner scorecard mart from the ledger snapshot, and the verification
    telemetry from the query log the demo's queries went to (Dagster + dbt, one run)."""
    from orchestration.definitions import build_definitions
    from orchestration.run import materialize
    from verification.querylog import flush_journal

    flush_journal(home.root)  # the demo's responder has stopped: its journal is sealed
    materialize(
        home,
        build_definitions(home),
        select="key:stg_partners__deliveries+ or key:stg_verification__queries+",
    )
