from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from partners.config import get_partner
from partners.delivery import send_file
from partners.http import http_transport
from partners.ledger import Delivery
from serialtrace.settings import Home
from tests.partners.tls import HttpsEndpoint, json_error, make_ca, make_server_cert

HTTP_PARTNER = """
[[partner]]
id = "gamma"
name = "Loopback EPCIS 2.0 capture"
gln = "0614141000036"
role = "dispenser"
epcis_format = "2.0-jsonld"
transaction_history = false
schedule = "0 6 * * *"
max_attempts = 2
retry_base_seconds = 0

[partner.transport]
kind = "http"
url = "{url}"
ca_file = "{ca_file}"
token_env = "ST_TEST_CAPTURE_TOKEN"
"""
DOCUMENT = b'{"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"], "type": "EPCISDocument", "schemaVersion": "2.0", "epcisBody": {"eventList": []}}\n'  # noqa: E501


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = make_ca(folder, "partner-ca")
    make_ca(folder, "other-ca")
    make_server_cert(folder, ca_key, ca_cert)
    return folder


@pytest.fixture
def endpoint(pki: Path) -> Iterator[HttpsEndpoint]:
    server = HttpsEndpoint(pki / "server.crt", pki / "server.key").start()
    yield server
    server.stop()


def _home(tmp_path: Path, pki: Path, url: str, ca: str = "partner-ca.crt") -> Home:
    home = Home(tmp_path / "home").ensure()
    (home.root / "ca").mkdir()
    (home.root / "ca" / ca).write_bytes((pki / ca).read_bytes())
    (home.root / "partners.toml").write_text(HTTP_PARTNER.format(url=url, ca_file=f"ca/{ca}"))
    return home


def _post(home: Home) -> Delivery:
    partner = get_partner(home, "gamma")
    path = home.epcis_outbox / "WO-0001.jsonld"
    path.write_bytes(DOCUMENT)
    return send_file(home, partner, http_transport(home, partner), path)


def test_capture_accepted_over_verified_tls(
    tmp_path: Path, pki: Path, endpoint: HttpsEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ST_TEST_CAPTURE_TOKEN", "t0ken")
    delivery = _post(_home(tmp_path, pki, endpoint.url))
    assert delivery.status == "acknowledged"
    assert delivery.ack_detail == "HTTP 202, capture job /capture/1"
    [(path, headers, body)] = endpoint.received
    assert path == "/capture" and body == DOCUMENT
    assert headers["Content-Type"] == "application/ld+json"
    assert headers["GS1-EPCIS-Version"] == "2.0.0"
    assert headers["Message-ID"] == delivery.message_id
    assert headers["Authorization"] == "Bearer t0ken"


def test_untrusted_certificate_is_refused_and_nothing_is_sent(
    tmp_path: Path, pki: Path, endpoint: HttpsEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ST_TEST_CAPTURE_TOKEN", "t0ken")
    delivery = _post(_home(tmp_path, pki, endpoint.url, ca="other-ca.crt"))
    assert delivery.status == "failed" and delivery.attempts == 1
    assert "TLS verification failed" in (delivery.failure_reason or "")
    assert endpoint.received == []


def test_client_error_is_a_rejection_server_error_a_retry(
    tmp_path: Path, pki: Path, endpoint: HttpsEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ST_TEST_CAPTURE_TOKEN", "t0ken")
    endpoint.respond = lambda h, b: json_error(400, "eventList: invalid")
    delivery = _post(_home(tmp_path, pki, endpoint.url))
    assert delivery.status == "rejected"
    assert "HTTP 400" in (delivery.failure_reason or "")
    endpoint.respond = lambda h, b: json_error(503, "busy")
    other = Home(tmp_path / "other")
    delivery = _post(_home(other.root, pki, endpoint.url))
    assert delivery.status == "failed" and delivery.attempts == 2
    assert "HTTP 503" in (delivery.failure_reason or "")
