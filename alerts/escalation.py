"""Aging and escalation: rules per alert type, notifications by e-mail (SMTP) or webhook.

A rule fires once per case when its condition has held for ``after`` (measured from the
rule's start: opening for *unassigned* / *open*, the determination for
*determined_open*). Recipients are users of the user store: ``role:quality`` (every
enabled user holding the role) or ``roles:quality+admin`` (holding all of them — the
default "head of quality") or ``user:NAME``. A notification is recorded (trail + case
entry) only after every channel accepted it, so a failed send is retried on the next run
(at-least-once delivery). The clock is a parameter: tests move it by hand.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

import requests

from alerts.model import AlertType
from alerts.store import AlertStore, Case
from serialtrace.errors import ConfigurationError, SerialtraceError
from serialtrace.users import User, UserStore

CONDITIONS = ("unassigned", "open", "determined_open", "sla_breached")


@dataclass(frozen=True)
class Rule:
    rule_id: str
    condition: str  # one of CONDITIONS
    after: timedelta
    notify: tuple[str, ...]  # role:X, roles:X+Y, user:NAME
    level: str  # who it goes to, in words ("quality team", "head of quality")
    alert_types: tuple[AlertType, ...] = ()  # empty: every type
    markets: tuple[str, ...] = ()  # empty: every market

    def applies(self, case: Case) -> bool:
        return (not self.alert_types or case.alert_type in self.alert_types) and (
            not self.markets or case.market in self.markets
        )

    def due_at(self, case: Case) -> datetime | None:
        """When the rule fires for ``case``, or None when its condition does not hold."""
        if case.status == "closed" or not self.applies(case):
            return None
        if self.condition == "unassigned":
            return None if case.assignee else case.opened_at + self.after
        if self.condition == "open":
            return case.opened_at + self.after
        if self.condition == "determined_open":
            return None if case.determined_at is None else case.determined_at + self.after
        if self.condition == "sla_breached":
            return case.sla_due_at + self.after
        raise SerialtraceError(f"rule {self.rule_id}: unknown condition {self.condition!r}")


#: The defaults (company policy; the 24 h DSCSA clock runs from the determination).
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("unassigned-4h", "unassigned", timedelta(hours=4), ("role:quality",), "quality team"),
    Rule(
        "fmd-unassigned-2h",
        "unassigned",
        timedelta(hours=2),
        ("role:quality",),
        "quality team",
        alert_types=(AlertType.FMD_ALERT,),
    ),
    Rule(
        "dscsa-determined-20h",
        "determined_open",
        timedelta(hours=20),
        ("roles:quality+admin",),
        "head of quality",
        markets=("US",),
    ),
    Rule("sla-breached", "sla_breached", timedelta(0), ("roles:quality+admin",), "head of quality"),
)


def rules_from_json(text: str) -> tuple[Rule, ...]:
    """Rules from JSON: ``[{"rule_id", "condition", "after_hours", "notify": [...], "level",
    "alert_types": [...], "markets": [...]}]``."""
    try:
        items = json.loads(text)
        rules = tuple(
            Rule(
                rule_id=str(i["rule_id"]),
                condition=str(i["condition"]),
                after=timedelta(hours=float(i["after_hours"])),
                notify=tuple(i["notify"]),
                level=str(i.get("level", "")),
                alert_types=tuple(AlertType(t) for t in i.get("alert_types", [])),
                markets=tuple(i.get("markets", [])),
            )
            for i in items
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"escalation rules: {exc}") from None
    for r in rules:
        if r.condition not in CONDITIONS:
            raise ConfigurationError(
                f"escalation rule {r.rule_id}: condition one of {', '.join(CONDITIONS)}"
            )
    return rules


def recipients(users: UserStore, notify: Sequence[str]) -> list[User]:
    chosen: dict[str, User] = {}
    enabled = [u for u in users.all() if not u.disabled]
    for spec in notify:
        kind, _, value = spec.partition(":")
        if kind == "role":
            found = [u for u in enabled if value in u.roles]
        elif kind == "roles":
            needed = value.split("+")
            found = [u for u in enabled if all(r in u.roles for r in needed)]
        elif kind == "user":
            found = [u for u in enabled if u.name == value]
        else:
            raise ConfigurationError(f"recipient {spec!r}: role:X, roles:X+Y or user:NAME")
        for u in found:
            chosen[u.name] = u
    return list(chosen.values())


@dataclass(frozen=True)
class Message:
    case_id: str
    rule_id: str
    level: str
    subject: str
    body: str
    recipients: tuple[User, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "rule": self.rule_id,
            "level": self.level,
            "subject": self.subject,
            "body": self.body,
            "recipients": [u.name for u in self.recipients],
        }


class Notifier(Protocol):
    channel: str

    def send(self, message: Message) -> None: ...


@dataclass
class SmtpNotifier:
    """E-mail through an SMTP relay (STARTTLS and login when configured)."""

    host: str
    port: int
    sender: str
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    channel: str = "email"

    def send(self, message: Message) -> None:
        to = [u.email for u in message.recipients if u.email]
        if not to:
            raise SerialtraceError(
                f"escalation {message.rule_id} of {message.case_id}: no recipient has an e-mail"
            )
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = ", ".join(to)
        mail["Subject"] = message.subject
        mail.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mail)


@dataclass
class WebhookNotifier:
    """POST the message as JSON; with a secret, ``X-Serialtrace-Signature: sha256=<hmac>``."""

    url: str
    secret: str | None = field(default=None, repr=False)
    channel: str = "webhook"

    def send(self, message: Message) -> None:
        body = json.dumps(message.as_json(), sort_keys=True).encode()
        headers = {"Content-Type": "application/json"}
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Serialtrace-Signature"] = f"sha256={digest}"
        response = requests.post(self.url, data=body, headers=headers, timeout=30)
        if response.status_code >= 300:
            raise SerialtraceError(f"webhook {self.url} answered HTTP {response.status_code}")


def notifiers_from_env(env: dict[str, str] | None = None) -> list[Notifier]:
    """From SERIALTRACE_ALERTS_SMTP (host:port), _SMTP_FROM, _SMTP_STARTTLS, _SMTP_USER,
    _SMTP_PASSWORD, SERIALTRACE_ALERTS_WEBHOOK (URL) and _WEBHOOK_SECRET."""
    e = os.environ if env is None else env
    out: list[Notifier] = []
    smtp = e.get("SERIALTRACE_ALERTS_SMTP")
    if smtp:
        host, _, port = smtp.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigurationError(f"SERIALTRACE_ALERTS_SMTP: host:port, got {smtp!r}")
        out.append(
            SmtpNotifier(
                host,
                int(port),
                e.get("SERIALTRACE_ALERTS_SMTP_FROM", "serialtrace@localhost"),
                starttls=e.get("SERIALTRACE_ALERTS_SMTP_STARTTLS", "") == "1",
                username=e.get("SERIALTRACE_ALERTS_SMTP_USER"),
                password=e.get("SERIALTRACE_ALERTS_SMTP_PASSWORD"),
            )
        )
    hook = e.get("SERIALTRACE_ALERTS_WEBHOOK")
    if hook:
        out.append(WebhookNotifier(hook, e.get("SERIALTRACE_ALERTS_WEBHOOK_SECRET")))
    return out


@dataclass(frozen=True)
class EscalationRun:
    sent: list[Message]
    failed: list[tuple[Message, str]]
    pending_next: datetime | None  # the next time a rule will fire (for a scheduler)


def run_escalations(
    store: AlertStore,
    users: UserStore,
    notifiers: Sequence[Notifier],
    rules: Sequence[Rule] = DEFAULT_RULES,
    *,
    now: Callable[[], datetime] | None = None,
) -> EscalationRun:
    """Fire every rule that is due on every open case (each at most once per case)."""
    moment = (now or store.clock)()
    sent: list[Message] = []
    failed: list[tuple[Message, str]] = []
    upcoming: list[datetime] = []
    for case in store.cases(include_closed=False):
        done = store.escalations(case.case_id)
        for rule in rules:
            if rule.rule_id in done:
                continue
            due = rule.due_at(case)
            if due is None:
                continue
            if due > moment:
                upcoming.append(due)
                continue
            message = _message(case, rule, recipients(users, rule.notify), moment)
            try:
                if not message.recipients:
                    raise SerialtraceError(f"rule {rule.rule_id}: nobody matches {rule.notify}")
                if not notifiers:
                    raise ConfigurationError(
                        "no notification channel: set SERIALTRACE_ALERTS_SMTP or _WEBHOOK"
                    )
                for notifier in notifiers:
                    notifier.send(message)
            except (OSError, SerialtraceError, requests.RequestException) as exc:
                failed.append((message, f"{type(exc).__name__}: {exc}"))
                continue
            store.record_escalation(
                case.case_id,
                rule.rule_id,
                [u.name for u in message.recipients],
                "+".join(n.channel for n in notifiers),
                f"escalated to {rule.level}: {message.subject}",
            )
            sent.append(message)
    return EscalationRun(sent, failed, min(upcoming) if upcoming else None)


def _message(case: Case, rule: Rule, to: list[User], now: datetime) -> Message:
    age = now - case.opened_at
    hours = age.total_seconds() / 3600
    why = {
        "unassigned": f"still unassigned after {hours:.1f} h",
        "open": f"open for {hours:.1f} h",
        "determined_open": (
            "illegitimate product determined at "
            f"{case.determined_at:%Y-%m-%d %H:%M} UTC; Form FDA 3911 due within 24 h"
            if case.determined_at
            else "determined"
        ),
        "sla_breached": f"past its SLA ({case.sla_due_at:%Y-%m-%d %H:%M} UTC)",
    }[rule.condition]
    subject = f"[Serialtrace {case.severity}] {case.case_id} {why}"
    body = "\n".join(
        [
            f"Case {case.case_id} ({case.alert_type}, severity {case.severity}) {why}.",
            f"Title: {case.title}",
            f"Assignee: {case.assignee or 'nobody'}",
            f"Opened: {case.opened_at:%Y-%m-%d %H:%M} UTC by {case.opened_by}",
            f"Escalated to: {rule.level} (rule {rule.rule_id})",
            "",
            f"serialtrace alerts show {case.case_id}",
        ]
    )
    return Message(case.case_id, rule.rule_id, rule.level, subject, body, tuple(to))
