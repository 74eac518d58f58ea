from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller

from alerts.escalation import (
    DEFAULT_RULES,
    SmtpNotifier,
    WebhookNotifier,
    notifiers_from_env,
    rules_from_json,
    run_escalations,
)
from alerts.model import Alert, AlertType, Classification, Subject
from alerts.service import raise_alert, store_for
from serialtrace.errors import ConfigurationError
from serialtrace.settings import Home
from serialtrace.users import UserStore
from tests.alerts.conftest import GTIN, Clock


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.mails.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[type[_Hook], str]]:
    class Hook(_Hook):
        received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
        status = 200

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Hook, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _case(home: Home, clock: Clock, ref: str, kind: AlertType = AlertType.MANUAL) -> str:
    alert = Alert(kind, ref, "suspect pack", (Subject(gtin=GTIN, serial="S00"),))
    return raise_alert(home, alert, clock=clock)[0].case_id


def test_unassigned_after_4h_mails_quality_once(
    home: Home, users: UserStore, clock: Clock, smtp: tuple[_Inbox, int]
) -> None:
    inbox, port = smtp
    store = store_for(home, clock)
    case_id = _case(home, clock, "M-1")
    mailer = [SmtpNotifier("127.0.0.1", port, "alerts@serialtrace.test")]
    clock.advance(hours=3, minutes=59)
    run = run_escalations(store, users, mailer, DEFAULT_RULES)
    assert run.sent == [] and inbox.mails == []
    assert run.pending_next == store.get(case_id).opened_at + timedelta(hours=4)
    clock.advance(minutes=1)
    run = run_escalations(store, users, mailer, DEFAULT_RULES)
    assert [m.rule_id for m in run.sent] == ["unassigned-4h"]
    ((to, mail),) = inbox.mails
    assert sorted(to) == ["hq@x.test", "qa@x.test"]  # every quality user with an e-mail
    assert case_id in mail["Subject"] and "unassigned after 4.0 h" in mail["Subject"]
    # once only, and recorded in the case and the trail
    clock.advance(hours=1)
    assert run_escalations(store, users, mailer, DEFAULT_RULES).sent == []
    assert len(inbox.mails) == 1
    assert [e.kind for e in store.entries(case_id)][-1] == "escalation"
    assert store.trail(case_id)[-1]["action"] == "case.escalated"


def test_dscsa_determination_open_20h_goes_to_head_of_quality_by_webhook(
    home: Home, users: UserStore, clock: Clock, webhook: tuple[type[_Hook], str]
) -> None:
    hook, url = webhook
    store = store_for(home, clock)
    case_id = _case(home, clock, "M-2")
    store.assign(case_id, "qa", user="hq")
    clock.advance(hours=1)
    store.determine(case_id, Classification.COUNTERFEIT, "fake carton", user="qa")
    notifier = [WebhookNotifier(url, secret="s3cret")]
    clock.advance(hours=19, minutes=59)
    assert run_escalations(store, users, notifier).sent == []
    clock.advance(minutes=1)
    run = run_escalations(store, users, notifier)
    assert [m.rule_id for m in run.sent] == ["dscsa-determined-20h"]
    ((headers, body),) = hook.received
    payload = json.loads(body)
    assert payload["recipients"] == ["hq"] and payload["level"] == "head of quality"
    assert "3911 due within 24 h" in payload["subject"]
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Serialtrace-Signature"] == f"sha256={expected}"


def test_failed_send_is_retried_next_run(
    home: Home, users: UserStore, clock: Clock, webhook: tuple[type[_Hook], str]
) -> None:
    hook, url = webhook
    store = store_for(home, clock)
    _case(home, clock, "M-3")
    clock.advance(hours=5)
    hook.status = 503
    run = run_escalations(store, users, [WebhookNotifier(url)])
    assert run.sent == [] and "HTTP 503" in run.failed[0][1]
    hook.status = 200
    assert [m.rule_id for m in run_escalations(store, users, [WebhookNotifier(url)]).sent] == [
        "unassigned-4h"
    ]
    # no channel configured: reported, not silently skipped
    _case(home, clock, "M-4")
    clock.advance(hours=5)
    assert "no notification channel" in run_escalations(store, users, []).failed[0][1]


def test_rules_and_channels_from_configuration() -> None:
    (rule,) = rules_from_json(
        '[{"rule_id": "fmd-1h", "condition": "unassigned", "after_hours": 1,'
        ' "notify": ["user:qa"], "alert_types": ["fmd_alert"]}]'
    )
    assert rule.alert_types == (AlertType.FMD_ALERT,) and rule.after.total_seconds() == 3600
    with pytest.raises(ConfigurationError, match="condition one of"):
        rules_from_json('[{"rule_id": "x", "condition": "late", "after_hours": 1, "notify": []}]')
    chans = notifiers_from_env(
        {"SERIALTRACE_ALERTS_SMTP": "127.0.0.1:2525", "SERIALTRACE_ALERTS_WEBHOOK": "http://h/x"}
    )
    assert [c.channel for c in chans] == ["email", "webhook"]
    with pytest.raises(ConfigurationError, match="host:port"):
        notifiers_from_env({"SERIALTRACE_ALERTS_SMTP": "nohost"})
