"""Dagster definitions of trading-partner delivery (partners/).

- ``partner_deliveries`` (asset, one partition per configured partner): a drop — queue the
  partner's new outbox documents and attempt every due delivery (new files and retries
  whose backoff elapsed). Only live partners receive scheduled drops.
- one schedule per partner (``partner_drop_<id>``, the partner's cron ``schedule``),
  running the drop for its partition; running by default for partners configured live.
- ``partner_inbound_files`` (asset) + ``partner_inbound_sensor``: the sensor lists the
  SFTP partners' outbox folders (and the ledger's not-yet-ingested files) and requests a
  run that picks the files up, stores them under ``<home>/epcis/inbox/<partner>/`` and
  hands them to the EPCIS ingest (``partners.inbound.INGEST_HOOK``).
- asset checks on ``partner_deliveries``: ``acknowledgements_on_time`` (no file sent and
  unacknowledged past its partner's ``ack_deadline_minutes``) and ``no_failed_deliveries``.
"""

import hashlib

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetSelection,
    ConfigurableResource,
    DefaultScheduleStatus,
    Definitions,
    MaterializeResult,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    StaticPartitionsDefinition,
    asset,
    asset_check,
    define_asset_job,
    schedule,
    sensor,
)
from dagster import ScheduleDefinition as _ScheduleDefinition

from partners.config import Partner, SftpSettings, get_partner, load_partners
from partners.export import export_deliveries
from partners.ledger import DeliveryLedger
from serialtrace.errors import SerialtraceError
from serialtrace.settings import Home

PARTNER_DROP_JOB = "partner_drop_job"
PARTNER_INBOUND_JOB = "partner_inbound_job"


class PartnersHome(ConfigurableResource):  # type: ignore[type-arg]
    """The home folder whose partners.toml, outbox, inbox and delivery ledger are used."""

    path: str

    @property
    def home(self) -> Home:
        return Home.at(self.path)


def schedule_name(partner: Partner) -> str:
    return "partner_drop_" + partner.id.replace("-", "_")


def _drop(context: AssetExecutionContext, partners_home: PartnersHome) -> MaterializeResult[None]:
    from partners.delivery import drop_pending
    from partners.onboarding import status
    from partners.transports import transport_for

    home = partners_home.home.ensure()
    partner = get_partner(home, context.partition_key)
    with DeliveryLedger(home.partners_ledger) as ledger:
        live = status(ledger, partner).live
    if not live:
        context.log.info(f"{partner.id} is not live: nothing sent")
        return MaterializeResult(metadata={"live": False, "attempted": 0})
    deliveries = drop_pending(home, partner, transport_for(home, partner))
    export_deliveries(home)  # the scorecard's raw snapshot
    counts: dict[str, int] = {}
    for d in deliveries:
        counts[d.status] = counts.get(d.status, 0) + 1
        if d.status in ("failed", "rejected"):
            context.log.warning(f"{d.file_name} {d.message_id}: {d.status}: {d.failure_reason}")
    return MaterializeResult(
        metadata={"live": True, "attempted": len(deliveries), **{k: v for k, v in counts.items()}}
    )


def _inbound(
    context: AssetExecutionContext, partners_home: PartnersHome
) -> MaterializeResult[None]:
    from partners.inbound import ingest_received
    from partners.sftp import sftp_transport

    home = partners_home.home.ensure()
    received = 0
    errors: list[str] = []
    with DeliveryLedger(home.partners_ledger) as ledger:
        for partner in load_partners(home):
            if isinstance(partner.transport, SftpSettings):
                try:
                    received += len(sftp_transport(home, partner).pickup(ledger))
                except SerialtraceError as exc:  # the other partners are still picked up
                    errors.append(f"{partner.id}: {exc}")
    handled = ingest_received(home)
    export_deliveries(home)
    if not handled:
        context.log.info("EPCIS ingest hook not wired or nothing to ingest: files stay received")
    if errors:
        raise SerialtraceError("inbound pickup failed for " + "; ".join(errors))
    return MaterializeResult(metadata={"received": received, "ingested": len(handled)})


def partner_definitions(home: Home) -> Definitions:
    partners = load_partners(home)
    if not partners:
        return Definitions(resources={"partners_home": PartnersHome(path=str(home.root))})
    partitions = StaticPartitionsDefinition([p.id for p in partners])

    @asset(
        name="partner_deliveries",
        partitions_def=partitions,
        group_name="partners",
        owners=["team:partners"],
        description="Scheduled drop to one trading partner (ledger: <home>/partners.sqlite).",
    )
    def partner_deliveries(
        context: AssetExecutionContext, partners_home: PartnersHome
    ) -> MaterializeResult[None]:
        return _drop(context, partners_home)

    @asset(
        name="partner_inbound_files",
        group_name="partners",
        owners=["team:partners"],
        description="Files picked up from partners, stored in <home>/epcis/inbox/<partner>/.",
    )
    def partner_inbound_files(
        context: AssetExecutionContext, partners_home: PartnersHome
    ) -> MaterializeResult[None]:
        return _inbound(context, partners_home)

    @asset_check(asset=partner_deliveries, name="acknowledgements_on_time")
    def acknowledgements_on_time(partners_home: PartnersHome) -> AssetCheckResult:
        with DeliveryLedger(partners_home.home.partners_ledger) as ledger:
            late = ledger.overdue()
        return AssetCheckResult(
            passed=not late,
            severity=AssetCheckSeverity.ERROR,
            description="files sent but not acknowledged past their partner's deadline",
            metadata={
                "overdue": len(late),
                "files": ", ".join(f"{d.partner_id}:{d.file_name}" for d in late[:20]),
            },
        )

    @asset_check(asset=partner_deliveries, name="no_failed_deliveries")
    def no_failed_deliveries(partners_home: PartnersHome) -> AssetCheckResult:
        with DeliveryLedger(partners_home.home.partners_ledger) as ledger:
            bad = [
                d
                for d in ledger.deliveries()
                if d.direction == "outbound" and d.status in ("failed", "rejected")
            ]
        return AssetCheckResult(
            passed=not bad,
            severity=AssetCheckSeverity.WARN,
            description="outbound files failed or rejected by the partner",
            metadata={
                "failed_or_rejected": len(bad),
                "files": "; ".join(
                    f"{d.partner_id}:{d.file_name}: {d.failure_reason}" for d in bad[:20]
                ),
            },
        )

    drop_job = define_asset_job(
        PARTNER_DROP_JOB, selection=AssetSelection.assets(partner_deliveries)
    )
    inbound_job = define_asset_job(
        PARTNER_INBOUND_JOB, selection=AssetSelection.assets(partner_inbound_files)
    )

    @sensor(job=inbound_job, minimum_interval_seconds=60, name="partner_inbound_sensor")
    def partner_inbound_sensor(
        context: SensorEvaluationContext, partners_home: PartnersHome
    ) -> RunRequest | SkipReason:
        """Files waiting at SFTP partners or stored but not yet ingested: one run."""
        from partners.sftp import sftp_transport
        from partners.transport import TransportError

        home = partners_home.home
        waiting: list[str] = []
        for partner in load_partners(home):
            if not isinstance(partner.transport, SftpSettings):
                continue
            try:
                with sftp_transport(home, partner).session() as sftp:
                    for entry in sftp.listdir_attr(partner.transport.remote_outbox):
                        if not entry.filename.startswith("."):
                            waiting.append(f"{partner.id}/{entry.filename}/{entry.st_size}")
            except TransportError as exc:
                context.log.warning(f"{partner.id}: cannot list inbound files: {exc}")
        with DeliveryLedger(home.partners_ledger) as ledger:
            pending = [
                d.message_id
                for d in ledger.deliveries()
                if d.direction == "inbound" and d.status == "received"
            ]
        if not waiting and not pending:
            return SkipReason("no inbound partner files")
        key = hashlib.sha256("\n".join(sorted(waiting + pending)).encode()).hexdigest()[:16]
        return RunRequest(run_key=f"inbound-{key}")

    return Definitions(
        assets=[partner_deliveries, partner_inbound_files],
        asset_checks=[acknowledgements_on_time, no_failed_deliveries],
        jobs=[drop_job, inbound_job],
        schedules=[_partner_schedule(p, drop_job) for p in partners],
        sensors=[partner_inbound_sensor],
        resources={"partners_home": PartnersHome(path=str(home.root))},
    )


def _partner_schedule(partner: Partner, job: object) -> _ScheduleDefinition:
    @schedule(
        name=schedule_name(partner),
        cron_schedule=partner.schedule,
        job=job,  # type: ignore[arg-type]
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING
        if partner.go_live
        else DefaultScheduleStatus.STOPPED,
        description=f"Drop pending outbox files to {partner.name}",
    )
    def _drop_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(partition_key=partner.id, tags={"partner": partner.id})

    return _drop_schedule
