"""Nothing a requestor sends crashes the responder: every answer is a status it documents,
200 answers are the standard's JSON, and the service keeps answering afterwards."""

from __future__ import annotations

import contextlib
import json
import socket
import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.verification.conftest import GTIN, REQ_GLN, Responding

ALLOWED = {200, 400, 401, 403, 404, 405, 503}

segments = st.sampled_from(
    ["01", "10", "21", "17", GTIN, "verify", "checkConnectivity", "%", "%zz"]
)
paths = st.lists(st.one_of(segments, st.text(max_size=12)), max_size=8).map(
    lambda parts: "/" + "/".join(parts)
)
names = st.sampled_from(
    [
        "17",
        "10",
        "21",
        "reqGLN",
        "corrUUID",
        "context",
        "linkType",
        "code",
        "ndc",
        "gtin",
        "serial",
        "productCode",
        "snomed",
        "exp",
    ]
)
queries = st.lists(
    st.tuples(names | st.text(max_size=5), st.text(max_size=30) | st.just(REQ_GLN)), max_size=8
).map(lambda pairs: "&".join(f"{urllib.parse.quote(k)}={urllib.parse.quote(v)}" for k, v in pairs))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "GET", "POST", "HEAD"]),
    path=paths,
    query=queries | st.text(max_size=60),
    keyed=st.booleans(),
)
def test_handle_never_fails(
    responding: Responding, method: str, path: str, query: str, keyed: bool
) -> None:
    responder = responding.server.responder
    headers = {"authorization": f"Bearer {responding.key}"} if keyed else {}
    answer = responder.handle(method, path, query, headers)
    assert answer.status in ALLOWED, (answer.status, answer.body)
    if answer.status == 200:
        body = json.loads(answer.body)
        assert set(body) >= {"verificationTimestamp", "responderGLN", "corrUUID"}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=300))
def test_raw_bytes_on_the_socket_do_not_stop_the_service(
    responding: Responding, raw: bytes
) -> None:
    host, port = responding.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /" + raw + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        with contextlib.suppress(TimeoutError):
            sock.recv(100)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /checkConnectivity HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert sock.recv(12).startswith(b"HTTP/1.1 ")
