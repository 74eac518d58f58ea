"""The responder: an ASGI app answering GS1 Lightweight Messaging verification requests.

Routes (GET only):

* ``…/01/{gtin}[/10/{lot}]/21/{serial}?17=…&linkType=verificationService&context=…&reqGLN=…
  &corrUUID=…`` — the standard's request (any path prefix before ``/01/``);
* ``/verify?…`` — the same parameters, the product named by ``code`` (scanned element string or
  Digital Link), or ``gtin``/``ndc``/``productCode``/``snomed`` with ``serial``, ``lot``, ``exp``;
* ``/checkConnectivity?corrUUID=…`` — liveness, answers ``responderGLN`` and ``corrUUID``.

Authentication: ``Authorization: Bearer <key>`` (or ``X-API-Key``). Status codes as the GS1 US
guideline lists them: 200 (JSON), 400 (text naming the field), 401, 403, 404, 405, 500, 503.
Every request, whatever its outcome, is written to the query journal.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import re
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote

from alerts.locks import QuarantineLocks, item_key
from serialtrace.errors import ConfigurationError, ValidationError
from serialtrace.settings import Home
from verification.config import VerificationConfig, load_config
from verification.decide import decide
from verification.identifiers import identifier_from_fields, parse_text
from verification.keys import ApiKey, key_store
from verification.messages import (
    ProductIdentifier,
    VerificationRequest,
    iso_utc,
    parse_request_params,
    validate_correlation_id,
)
from verification.querylog import QueryJournal, flush_journal
from verification.store import LookupStore, store_path

__all__ = ["Responder", "ResponderApp", "serve"]

T = TypeVar("T")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_MAX_TARGET = 4096


class LiveLocks(QuarantineLocks):
    """The alerts' quarantine locks, read through one long-lived connection per thread.

    Same table, same queries as :class:`QuarantineLocks`; only the connection is kept open
    (each autocommit SELECT still sees every lock committed before it, so a lock taken by
    an alert case answers *suspect* on the very next request)."""

    def __init__(self, path: Path) -> None:
        self._local = threading.local()
        super().__init__(path)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        yield db


_CANONICAL = re.compile(r"(?:/[^?]*)?/01/(\d{14})(?:/10/([^/]+))?/21/([^/]+)")


def fast_identifier(path: str, params: dict[str, list[str]]) -> ProductIdentifier | None:
    """The standard's request shape (``…/01/{gtin14}[/10/{lot}]/21/{serial}?17=…``) without
    the full Digital Link parser; None for any other shape (the full parser then decides).
    The values are validated afterwards by :func:`parse_request_params`, as on the slow path."""
    match = _CANONICAL.fullmatch(path)
    if match is None or any(k.isdigit() and k != "17" for k in params):
        return None
    gtin, lot, serial = match.groups()
    if "%" in path:
        try:
            lot = unquote(lot, errors="strict") if lot is not None else None
            serial = unquote(serial, errors="strict")
        except UnicodeDecodeError:
            return None
        if re.search(r"%(?![0-9A-Fa-f]{2})", path):
            return None
    expiry = params.get("17")
    if expiry is not None and len(expiry) != 1:
        return None
    return ProductIdentifier(gtin, serial, lot, expiry[0] if expiry else None)


@dataclass(frozen=True)
class MutualTls:
    """Serve HTTPS and require a client certificate signed by ``client_ca`` (mutual TLS).
    API keys still name the partner; the certificate proves the connection's origin."""

    certfile: Path
    keyfile: Path
    client_ca: Path

    def uvicorn_options(self) -> dict[str, Any]:
        import ssl

        for name in ("certfile", "keyfile", "client_ca"):
            if not getattr(self, name).is_file():
                raise ConfigurationError(
                    f"--tls-{name.replace('_', '-')}: no file {getattr(self, name)}"
                )
        return {
            "ssl_certfile": str(self.certfile),
            "ssl_keyfile": str(self.keyfile),
            "ssl_ca_certs": str(self.client_ca),
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
        }


class HttpError(Exception):
    def __init__(self, status: int, outcome: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.outcome, self.detail, self.field = status, outcome, detail, field


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str
    row: dict[str, Any]


class Responder:
    """Everything an answer needs; shared by all requests of one process."""

    def __init__(
        self,
        home: Home,
        config: VerificationConfig | None = None,
        *,
        flush_seconds: float = 60.0,
        today: Callable[[], dt.date] | None = None,
    ) -> None:
        self.home = home
        self.config = config or load_config(home.root)
        self.store = LookupStore(store_path(home.root))
        self.keys = key_store(home)
        self.locks = LiveLocks(home.alerts_db)
        # CMO mode: other clients' data spaces, opened on their keys' first request
        self._spaces: dict[str, tuple[LookupStore, LiveLocks]] = {}
        # ... and their query journals: a client's queries are logged in its own data space
        self._journals: dict[str, tuple[Path, QueryJournal]] = {}
        self._spaces_lock = threading.Lock()
        self._space_roots: dict[str, Path] = {}
        self._several: tuple[float, bool] = (0.0, False)
        self.journal = QueryJournal(home.root)
        self._today = today or (lambda: dt.datetime.now(dt.UTC).date())
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_loop, args=(flush_seconds,), name="querylog-flush", daemon=True
        )
        self._flusher.start()

    def _all_journals(self) -> list[tuple[Path, QueryJournal]]:
        with self._spaces_lock:
            return [(self.home.root, self.journal), *self._journals.values()]

    def _flush_loop(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            for root, journal in self._all_journals():
                try:
                    journal.rotate()
                    flush_journal(root)
                except Exception as exc:  # the journal keeps the rows; the next flush retries
                    print(f"query log flush failed: {exc}", file=sys.stderr)

    def close(self) -> None:
        self._stop.set()
        for root, journal in self._all_journals():
            journal.close()
            flush_journal(root)
        self.store.close()
        for store, _locks in self._spaces.values():
            store.close()

    # -- one request -------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, headers: dict[str, str]) -> Answer:
        started = time.perf_counter_ns()
        row: dict[str, Any] = {
            "query_id": str(uuid.uuid4()),
            "direction": "incoming",
            "request_form": "unknown",
            "request_text": (path + ("?" + query if query else ""))[:_MAX_TARGET],
        }
        try:
            status, payload = self._answer(method, path, query, headers, row)
            body = json.dumps(payload, separators=(",", ":")).encode()
            answer = Answer(status, body, "application/json", row)
        except HttpError as exc:
            row.update(outcome=exc.outcome, error_field=exc.field, error_detail=exc.detail)
            text = f"{exc.field}: {exc.detail}" if exc.field else exc.detail
            answer = Answer(exc.status, text.encode(), "text/plain; charset=utf-8", row)
        except Exception as exc:  # never crash the service: 500, logged
            row.update(outcome="error", error_detail=f"{type(exc).__name__}: {exc}"[:500])
            answer = Answer(500, b"internal error", "text/plain; charset=utf-8", row)
        row["http_status"] = answer.status
        row["logged_at"] = dt.datetime.now(dt.UTC).isoformat()
        row["latency_us"] = (time.perf_counter_ns() - started) // 1000
        try:
            self._journal_for(row).append(row)
        except (OSError, RuntimeError) as exc:  # no answer leaves unlogged
            print(f"query journal unavailable: {exc}", file=sys.stderr)
            return Answer(503, b"query log unavailable", "text/plain; charset=utf-8", row)
        return answer

    def _journal_for(self, row: dict[str, Any]) -> QueryJournal:
        """The query journal of the data space that answered: a CMO client's queries are
        logged in that client's data space (its telemetry, its dashboards), never in the
        responder's own; requests no key authenticated stay in the responder's."""
        client = row.get("client_company_id")
        with self._spaces_lock:
            if client is None or client not in self._spaces:
                return self.journal
            opened = self._journals.get(client)
            if opened is None:
                root = self._space_roots[client]
                opened = (root, QueryJournal(root))
                self._journals[client] = opened
            return opened[1]

    def _authenticate(self, headers: dict[str, str], row: dict[str, Any]) -> ApiKey:
        presented = headers.get("x-api-key")
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            presented = auth[7:].strip()
        if presented and presented.startswith("stv_"):
            row["requestor_key_id"] = presented[4:16]  # who tried, for failed-auth telemetry
        key = self.keys.authenticate(presented)
        if key is None:
            raise HttpError(401, "unauthenticated", "missing, unknown or revoked API key")
        row.update(
            requestor_key_id=key.key_id,
            requestor_partner=key.partner,
            client_company_id=key.company_id,
        )
        if self.config.client is not None and key.company_id != self.config.client:
            raise HttpError(403, "forbidden", "this responder answers only its client's keys")
        return key

    def _answer(
        self, method: str, path: str, query: str, headers: dict[str, str], row: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if method not in ("GET", "HEAD"):
            raise HttpError(405, "bad_request", f"method {method} is not allowed; use GET")
        try:
            params = parse_qs(query, keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError) as exc:
            raise HttpError(400, "bad_request", "query string is not valid UTF-8", "query") from exc
        for column, name in (
            ("requestor_gln", "reqGLN"),
            ("correlation_id", "corrUUID"),
            ("context", "context"),
        ):
            row[column] = params[name][0][:100] if params.get(name) else None
        key = self._authenticate(headers, row)
        store, locks = self._space_for(key)
        today = self._today()
        if path.rstrip("/").endswith("/checkConnectivity"):
            row["request_form"] = "check_connectivity"
            corr = _field(lambda: validate_correlation_id((params.get("corrUUID") or [""])[0]))
            row.update(outcome="verified" if store.available else "error")
            if not store.available:
                raise HttpError(503, "error", "verification index not loaded yet")
            return 200, {
                "verificationTimestamp": iso_utc(dt.datetime.now(dt.UTC)),
                "responderGLN": self.config.responder_gln,
                "corrUUID": corr,
            }
        identifier = self._identifier(path, query, params, row, today, store)
        request = _field(lambda: parse_request_params(identifier, params, today=today))
        return 200, self._verify(request, key, row, today, store, locks)

    def _serves_several(self) -> bool:
        """Whether the installation has more than one data space (re-read every 5 s)."""
        checked, several = self._several
        now = time.monotonic()
        if now - checked > 5.0:
            several = len(self.home.installation.data_spaces()) > 1
            self._several = (now, several)
        return several

    def _space_for(self, key: ApiKey) -> tuple[LookupStore, LiveLocks]:
        """The lookup store and quarantine locks of the key's client (CMO isolation): a
        key is answered from its own client's data space only, never another's."""
        client = key.company_id
        if client is None or client == self.home.client_id:
            if client is None and self._serves_several():
                raise HttpError(
                    403,
                    "forbidden",
                    "this installation serves several clients: the API key names none",
                )
            return self.store, self.locks
        with self._spaces_lock:
            opened = self._spaces.get(client)
            if opened is not None:
                return opened
            spaces = self.home.installation.data_spaces()
            if client not in spaces:
                if len(spaces) > 1:
                    raise HttpError(403, "forbidden", "the API key's client has no data space here")
                return self.store, self.locks  # one data space: records filtered by client
            space = spaces[client]
            opened = (LookupStore(store_path(space.root)), LiveLocks(space.alerts_db))
            self._spaces[client] = opened
            self._space_roots[client] = space.root
            return opened

    def _identifier(
        self,
        path: str,
        query: str,
        params: dict[str, list[str]],
        row: dict[str, Any],
        today: dt.date,
        store: LookupStore,
    ) -> ProductIdentifier:
        if path.rstrip("/").endswith("/verify"):
            identifier, form = _field(
                lambda: identifier_from_fields(params, store.catalog, today=today)
            )
            row["request_form"] = form
            return identifier
        if "/01/" in path or path.startswith("/gtin/") or "/gtin/" in path:
            row["request_form"] = "digital_link"
            fast = fast_identifier(path, params)
            if fast is not None:
                return fast
            uri = "http://responder" + path + ("?" + query if query else "")
            return _field(lambda: parse_text(uri, today=today))
        raise HttpError(404, "not_found", f"no verification resource at {unquote(path)[:200]}")

    def _verify(
        self,
        request: VerificationRequest,
        key: ApiKey,
        row: dict[str, Any],
        today: dt.date,
        store: LookupStore,
        locks: LiveLocks,
    ) -> dict[str, Any]:
        ident = request.identifier
        row.update(
            requestor_gln=request.requestor_gln,
            correlation_id=request.correlation_id,
            context=request.context,
            gtin=ident.gtin,
            serial=ident.serial,
            lot=ident.lot,
            expiry=ident.expiry,
        )
        if not store.available:
            raise HttpError(503, "error", "verification index not loaded yet")
        record = store.get(ident.gtin, ident.serial)
        quarantined = False
        if record is not None:
            quarantined = locks.case_for(item_key(ident.gtin, ident.serial)) is not None
            row["index_status"] = "quarantined" if quarantined else record.status
            visible = key.company_id is None or record.company_id == key.company_id
            if visible:
                row["company_id"] = record.company_id
                product = store.product(ident.gtin)
                row["product_name"] = product.product_name if product else None
        response = decide(
            ident, record, today=today, quarantined=quarantined, client=key.company_id
        )
        row.update(
            outcome="verified" if response.verified else "not_verified",
            verified=response.verified,
            reason_code=response.failure_reason.value if response.failure_reason else None,
            additional_info=response.additional_info.value if response.additional_info else None,
        )
        return response.to_json(
            responder_gln=self.config.responder_gln,
            correlation_id=request.correlation_id,
            timestamp=dt.datetime.now(dt.UTC),
        )


def _field(call: Callable[[], T]) -> T:
    """Run a parser; a ValidationError becomes a 400 naming its field."""
    try:
        return call()
    except ValidationError as exc:
        raise HttpError(400, "bad_request", exc.rule, exc.field) from exc


class ResponderApp:
    """The ASGI callable (served by uvicorn)."""

    def __init__(self, responder: Responder, *, close_on_shutdown: bool = False) -> None:
        self.responder = responder
        self.close_on_shutdown = close_on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.close_on_shutdown:
                        self.responder.close()  # seal the journal, flush it to the raw zone
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        query = scope.get("query_string", b"").decode("latin-1")
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        answer = self.responder.handle(scope["method"], path, query, headers)
        body = b"" if scope["method"] == "HEAD" else answer.body
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (b"content-type", answer.content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_app() -> ResponderApp:
    """ASGI factory for uvicorn workers: the home named by SERIALTRACE_HOME."""
    from serialtrace.settings import resolve_home

    app = ResponderApp(Responder(resolve_home()), close_on_shutdown=True)
    gc.freeze()  # start-up objects (catalog, modules) leave the collector's generations
    return app


def serve(
    home: Home,
    host: str = "127.0.0.1",
    port: int = 8700,
    *,
    workers: int = 1,
    tls: MutualTls | None = None,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Run the responder until interrupted (uvicorn, httptools, uvloop); ``workers`` > 1
    forks that many processes sharing the listening socket (each with its own journal)."""
    import os

    import uvicorn

    # worker processes rebuild the home from the environment: the installation + client
    os.environ["SERIALTRACE_HOME"] = str(home.installation.root)
    if home.installation_root is not None:
        os.environ["SERIALTRACE_CLIENT"] = home.client_id
    if ready is not None:
        ready(port)
    uvicorn.run(
        "verification.service:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        http="httptools",
        loop="uvloop",
        lifespan="on",
        backlog=2048,
        **(tls.uvicorn_options() if tls else {}),
    )


class ResponderThread:
    """The responder served by uvicorn in a background thread (demo, tests): ``with
    ResponderThread(home) as url: …``. Binds port 0 on loopback unless told otherwise."""

    def __init__(
        self, home: Home, host: str = "127.0.0.1", port: int = 0, tls: MutualTls | None = None
    ) -> None:
        self.home, self.host, self.port, self.tls = home, host, port, tls
        self.url = ""

    def __enter__(self) -> str:
        import socket

        import uvicorn

        self.responder = Responder(self.home)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((self.host, self.port))
        self._sock.listen(1024)
        port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            ResponderApp(self.responder),
            log_level="warning",
            access_log=False,
            http="httptools",
            loop="asyncio",
            lifespan="on",
            **(self.tls.uvicorn_options() if self.tls else {}),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("verification responder did not start")
            time.sleep(0.01)
        self.url = f"{'https' if self.tls else 'http'}://{self.host}:{port}"
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()
        self.responder.close()
