"""Dagster: the alerts job (line-anomaly and verification alerts, then escalations).

Every 15 minutes: raise alerts for new line anomalies in the raw line zone and for
verification answers that were not verified or flagged suspect (the query log; both
idempotent), then fire the escalation rules that are due (alerts/escalation.py).
Notification channels come from the environment (SERIALTRACE_ALERTS_SMTP,
SERIALTRACE_ALERTS_WEBHOOK); a send that fails fails the run (visible in the Dagster UI)
and is retried on the next tick.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Optional

from dagster import (
    ConfigurableResource,
    DefaultScheduleStatus,
    Failure,
    OpExecutionContext,
    ScheduleDefinition,
    job,
    op,
)

from alerts.escalation import DEFAULT_RULES, notifiers_from_env, rules_from_json, run_escalations
from alerts.service import raise_all, store_for
from alerts.sources import line_anomalies
from alerts.verification_source import raise_from_query_log
from serialtrace.settings import Home
from serialtrace.users import UserStore


class AlertsResource(ConfigurableResource):  # type: ignore[type-arg]
    """The home whose alerts database, user store and raw zone the alerts job uses."""

    home: str
    rules_file: Optional[str] = None  # noqa: UP045 - Dagster config needs Optional
    clock_at: Optional[str] = None  # noqa: UP045 - fixed ISO time (tests, replays)

    def the_home(self) -> Home:
        return Home.at(self.home)

    def now(self) -> datetime:
        if self.clock_at:
            return datetime.fromisoformat(self.clock_at)
        return datetime.now(UTC)


@op
def raise_line_anomaly_alerts(context: OpExecutionContext, alerts: AlertsResource) -> int:
    """Alerts for serials read twice and decoded serials never issued."""
    home = alerts.the_home()
    found = line_anomalies(home.raw_line, home.raw_serials)
    results = raise_all(home, found, clock=alerts.now)
    new = sum(1 for _, is_new in results if is_new)
    context.log.info(f"{len(found)} line anomalies, {new} new case(s)")
    return new


@op
def raise_verification_alerts(context: OpExecutionContext, alerts: AlertsResource) -> int:
    """Alerts for verification answers that were not verified or flagged suspect."""
    cases = raise_from_query_log(alerts.the_home(), clock=alerts.now)
    context.log.info(f"{len(cases)} verification answer(s) with a case")
    return len(cases)


@op
def escalate_alerts(
    context: OpExecutionContext, alerts: AlertsResource, _new: int, _verification: int
) -> int:
    """Fire every escalation rule that is due."""
    home = alerts.the_home()
    rules = (
        rules_from_json(Path(alerts.rules_file).read_text()) if alerts.rules_file else DEFAULT_RULES
    )
    run = run_escalations(
        store_for(home, alerts.now), UserStore(home.users_db), notifiers_from_env(), rules
    )
    for m in run.sent:
        context.log.info(f"escalated {m.case_id} to {m.level} ({m.rule_id})")
    if run.failed:
        raise Failure(
            f"{len(run.failed)} escalation(s) not sent (retried next tick): "
            + "; ".join(f"{m.case_id} {m.rule_id}: {why}" for m, why in run.failed[:5])
        )
    return len(run.sent)


@job(description="Line-anomaly and verification alerts, then due escalations (alerts/)")
def alerts_job() -> None:
    escalate_alerts(raise_line_anomaly_alerts(), raise_verification_alerts())


alerts_schedule = ScheduleDefinition(
    name="alerts_escalation_schedule",
    job=alerts_job,
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)
