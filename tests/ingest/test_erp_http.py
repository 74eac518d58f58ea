"""HTTP APIs: a local server stands in for SAP's OData and Oracle's REST API."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from ingest.erp.loader import fetch, load_pending
from serialtrace.errors import ConfigurationError, SerialtraceError
from serialtrace.settings import Home
from tests.ingest.conftest import FIXTURES, connection

TOKEN = "test-token-not-a-secret"


class ErpStandIn(BaseHTTPRequestHandler):
    """OData V2 with server-driven paging (__next) and Oracle REST with hasMore/offset."""

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"error": "unauthorized"})
            return
        url = urlparse(self.path)
        query = parse_qs(url.query)
        base = f"http://{self.headers['Host']}"
        if url.path.endswith("/A_Product"):
            self._send(200, json.loads((FIXTURES / "odata" / "A_Product.json").read_text()))
        elif url.path.endswith("/A_Batch"):
            batches = json.loads((FIXTURES / "odata" / "A_Batch.json").read_text())["d"]["results"]
            page = int(query.get("$skiptoken", ["0"])[0])
            body: dict[str, Any] = {"results": [batches[page]]}
            if page + 1 < len(batches):
                body["__next"] = f"{base}{url.path}?$skiptoken={page + 1}"
            self._send(200, {"d": body})
        elif url.path.endswith("/A_BatchChanges"):  # nothing changed since the last poll
            self._send(200, {"d": {"results": []}})
        elif url.path.endswith("/inventoryLots"):
            offset = int(query.get("offset", ["0"])[0])
            name = "lots_rest_page1.json" if offset == 0 else "lots_rest_page2.json"
            self._send(200, json.loads((FIXTURES / "oracle" / name).read_text()))
        else:
            self._send(404, {"error": "not found"})


@pytest.fixture
def erp_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ErpStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_odata_api_pages_are_fetched_and_loaded(
    home: Home, erp_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERIALTRACE_TEST_ERP_TOKEN", TOKEN)
    conn = dataclasses.replace(
        connection(home, "sap_odata"),
        url=erp_api,
        paths=(
            "/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product",
            "/sap/opu/odata/sap/API_BATCH_SRV/A_Batch",
        ),
        token_env="SERIALTRACE_TEST_ERP_TOKEN",
    )
    saved = fetch(conn)
    assert len(saved) == 2
    results = load_pending(home, conn)
    assert [(r.outcome, r.rows["products"], r.rows["lots"]) for r in results] == [
        ("loaded", 1, 0),
        ("loaded", 0, 2),  # both pages of batches
    ]


def test_oracle_rest_follows_has_more(
    home: Home, erp_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERIALTRACE_TEST_ERP_TOKEN", TOKEN)
    items = connection(home, "oracle_csv")
    items.drop.mkdir(parents=True)
    (items.drop / "items.csv").write_bytes((FIXTURES / "oracle" / "items.csv").read_bytes())
    load_pending(home, items)
    conn = dataclasses.replace(
        connection(home, "oracle_rest"),
        url=erp_api,
        paths=("/fscmRestApi/resources/11.13.18.05/inventoryLots",),
        token_env="SERIALTRACE_TEST_ERP_TOKEN",
    )
    fetch(conn)
    [result] = load_pending(home, conn)
    assert (result.outcome, result.rows["lots"]) == ("loaded", 2)


def test_wrong_or_missing_token_is_a_clear_error(
    home: Home, erp_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = dataclasses.replace(
        connection(home, "sap_odata"),
        url=erp_api,
        paths=("/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product",),
        token_env="SERIALTRACE_TEST_ERP_TOKEN",
    )
    monkeypatch.delenv("SERIALTRACE_TEST_ERP_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match="SERIALTRACE_TEST_ERP_TOKEN is not set"):
        fetch(conn)
    monkeypatch.setenv("SERIALTRACE_TEST_ERP_TOKEN", "wrong")
    with pytest.raises(SerialtraceError, match="answered HTTP 401"):
        fetch(conn)
    assert not conn.drop.exists() or not any(conn.drop.iterdir())


def test_an_empty_poll_leaves_no_file(
    home: Home, erp_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERIALTRACE_TEST_ERP_TOKEN", TOKEN)
    conn = dataclasses.replace(
        connection(home, "sap_odata"),
        url=erp_api,
        paths=("/sap/opu/odata/sap/API_BATCH_SRV/A_BatchChanges",),
        token_env="SERIALTRACE_TEST_ERP_TOKEN",
    )
    assert fetch(conn) == []
    assert load_pending(home, conn) == []
