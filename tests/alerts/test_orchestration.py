from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from alerts.model import Alert, AlertType, Subject
from alerts.service import raise_alert, store_for
from orchestration.alerts import AlertsResource, alerts_job, alerts_schedule
from serialtrace.settings import Home
from serialtrace.users import UserStore
from tests.alerts.conftest import GTIN, T0, Clock


@pytest.fixture
def hook_url() -> Iterator[tuple[list[bytes], str]]:
    got: list[bytes] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield got, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_alerts_job_escalates_on_its_clock(
    home: Home,
    users: UserStore,
    clock: Clock,
    hook_url: tuple[list[bytes], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    got, url = hook_url
    monkeypatch.setenv("SERIALTRACE_ALERTS_WEBHOOK", url)
    monkeypatch.delenv("SERIALTRACE_ALERTS_SMTP", raising=False)
    alert = Alert(AlertType.MANUAL, "M-1", "suspect", (Subject(gtin=GTIN, serial="S00"),))
    case, _ = raise_alert(home, alert, clock=clock)
    early = AlertsResource(home=str(home.root), clock_at=(T0.replace(hour=11)).isoformat())
    result = alerts_job.execute_in_process(resources={"alerts": early})
    assert result.success and result.output_for_node("escalate_alerts") == 0 and got == []
    late = AlertsResource(home=str(home.root), clock_at=(T0.replace(hour=12)).isoformat())
    result = alerts_job.execute_in_process(resources={"alerts": late})
    assert result.output_for_node("escalate_alerts") == 1
    assert json.loads(got[0])["case_id"] == case.case_id
    assert "escalation" in [e.kind for e in store_for(home).entries(case.case_id)]
    assert alerts_schedule.cron_schedule == "*/15 * * * *"


def test_alerts_job_fails_visibly_without_a_channel(
    home: Home, users: UserStore, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SERIALTRACE_ALERTS_WEBHOOK", raising=False)
    monkeypatch.delenv("SERIALTRACE_ALERTS_SMTP", raising=False)
    raise_alert(
        home, Alert(AlertType.MANUAL, "M-2", "x", (Subject(gtin=GTIN, serial="S01"),)), clock=clock
    )
    res = AlertsResource(home=str(home.root), clock_at=T0.replace(hour=13).isoformat())
    result = alerts_job.execute_in_process(resources={"alerts": res}, raise_on_error=False)
    assert not result.success
