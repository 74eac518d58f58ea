from __future__ import annotations

from datetime import timedelta

from dagster import (
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_sensor_context,
)

from orchestration.partners import (
    PARTNER_DROP_JOB,
    PARTNER_INBOUND_JOB,
    PartnersHome,
    partner_definitions,
)
from partners.ledger import DeliveryLedger, utcnow
from partners.onboarding import go_live, send_test_message
from partners.sftp import sftp_transport
from tests.partners.conftest import SftpPeer, epcis12


def test_schedule_per_partner_and_a_drop_for_a_live_partner(sftp_peer: SftpPeer) -> None:
    partner = sftp_peer.write_config()
    defs = partner_definitions(sftp_peer.home)
    schedule = defs.resolve_schedule_def("partner_drop_loop_sftp")
    assert schedule.cron_schedule == "*/5 * * * *"
    job = defs.resolve_job_def(PARTNER_DROP_JOB)
    (sftp_peer.home.epcis_outbox / "WO-0001.xml").write_bytes(epcis12("batch"))

    not_live = job.execute_in_process(partition_key=partner.id)
    assert not_live.success and list(sftp_peer.inbound.iterdir()) == []

    send_test_message(sftp_peer.home, partner, sftp_transport(sftp_peer.home, partner))
    go_live(sftp_peer.home, partner)
    live = job.execute_in_process(partition_key=partner.id)
    assert live.success
    names = sorted(p.name.split("__", 1)[1] for p in sftp_peer.inbound.iterdir())
    assert names[0] == "WO-0001.xml"


def test_acknowledgement_deadline_check(sftp_peer: SftpPeer) -> None:
    sftp_peer.write_config()
    defs = partner_definitions(sftp_peer.home)
    past = utcnow() - timedelta(hours=3)
    with DeliveryLedger(sftp_peer.home.partners_ledger) as ledger:
        d = ledger.enqueue("loop-sftp", "sftp", "late.xml", "late.xml", "h", 1, now=past)
        ledger.begin_attempt(d.message_id, past)
        ledger.mark_sent(d.message_id, timedelta(minutes=60), now=past)
    result = defs.resolve_job_def(PARTNER_DROP_JOB).execute_in_process(
        partition_key="loop-sftp", raise_on_error=False
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["acknowledgements_on_time"].passed is False
    assert "loop-sftp:late.xml" in str(evaluations["acknowledgements_on_time"].metadata)
    assert evaluations["no_failed_deliveries"].passed is True


def test_inbound_sensor_requests_a_pickup_only_when_files_wait(sftp_peer: SftpPeer) -> None:
    sftp_peer.write_config()
    defs = partner_definitions(sftp_peer.home)
    sensor = defs.resolve_sensor_def("partner_inbound_sensor")
    resources = {"partners_home": PartnersHome(path=str(sftp_peer.home.root))}
    with DagsterInstance.ephemeral() as instance:
        idle = sensor(build_sensor_context(instance=instance, resources=resources))
        assert isinstance(idle, SkipReason)
        (sftp_peer.outbound / "ship.xml").write_bytes(epcis12("in"))
        request = sensor(build_sensor_context(instance=instance, resources=resources))
        assert isinstance(request, RunRequest) and request.run_key
    result = defs.resolve_job_def(PARTNER_INBOUND_JOB).execute_in_process()
    assert result.success
    assert (sftp_peer.home.epcis_inbox / "loop-sftp" / "ship.xml").exists()
    assert list(sftp_peer.outbound.iterdir()) == []
