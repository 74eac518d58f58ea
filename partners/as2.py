"""AS2 (RFC 4130) with pyas2lib: signed + encrypted messages, sync/async MDNs, an endpoint.

Outbound (:class:`As2Transport`): the file is signed with our key, encrypted for the
partner's certificate and POSTed with ``Message-ID`` = the ledger's message ID (so a
resend is recognised by the partner as a duplicate). A signed MDN is requested. With a
synchronous MDN the HTTP response carries it: its signature is verified against the
partner's certificate and its ``Received-Content-MIC`` compared with the MIC we computed;
``processed`` with a matching MIC = acknowledged; anything else (negative disposition,
MIC mismatch, unsigned or unverifiable MDN) = rejected with the reason. With an
asynchronous MDN the transport records ``sent`` with the MIC, and the MDN arrives later
at :class:`As2Station` (``POST /as2/mdn``), which verifies it the same way and updates the
ledger.

Inbound (:class:`As2Station`, ``POST /as2``): decrypts, verifies the signature, stores the
payload through the ``on_payload`` callback (which may refuse it) and answers with a
signed MDN, synchronously in the response or asynchronously to the sender's
``Receipt-Delivery-Option`` URL. A message that fails decryption or verification is
never stored; its MDN carries the failure.
"""

from __future__ import annotations

import http.server
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from partners import oscrypto_fix
from partners.config import As2Settings, Partner, key_path, read_secret_env
from partners.ledger import Delivery, DeliveryLedger
from partners.transport import PermanentTransportError, SendOutcome, TransportError
from serialtrace.settings import Home

oscrypto_fix.install()
from pyas2lib import as2  # noqa: E402  (after the oscrypto fix)

log = logging.getLogger(__name__)
MESSAGE_DOMAIN = "serialtrace"
HTTP_TIMEOUT = 30.0
# paths of the inbound endpoint
MESSAGE_PATH = "/as2"
MDN_PATH = "/as2/mdn"


@dataclass(frozen=True)
class As2Keys:
    """Our identity and the partner's certificate, as PEM bytes (read from key files)."""

    local_as2_id: str
    key_pem: bytes  # private key + certificate
    key_pass: str | None
    partner_as2_id: str
    partner_cert_pem: bytes


def load_keys(home: Home, settings: As2Settings) -> As2Keys:
    key = key_path(home, settings.key_file, "transport.key_file").read_bytes()
    cert = key_path(home, settings.partner_cert_file, "transport.partner_cert_file").read_bytes()
    return As2Keys(
        settings.local_as2_id,
        key,
        read_secret_env(settings.key_passphrase_env, "transport.key_passphrase_env"),
        settings.partner_as2_id,
        cert,
    )


def organization(keys: As2Keys, mdn_url: str | None = None) -> Any:
    try:
        return as2.Organization(
            as2_name=keys.local_as2_id,
            sign_key=keys.key_pem,
            sign_key_pass=keys.key_pass,
            decrypt_key=keys.key_pem,
            decrypt_key_pass=keys.key_pass,
            mdn_url=mdn_url or None,
            domain=MESSAGE_DOMAIN,
        )
    except Exception as exc:  # pyas2lib raises AS2Exception/ValueError on bad keys
        raise PermanentTransportError(
            f"AS2 {keys.local_as2_id}: cannot load our key: {exc}"
        ) from exc


def as2_partner(keys: As2Keys, settings: As2Settings | None = None) -> Any:
    return as2.Partner(
        as2_name=keys.partner_as2_id,
        verify_cert=keys.partner_cert_pem,
        encrypt_cert=keys.partner_cert_pem,
        validate_certs=True,
        encrypt=True,
        enc_alg=settings.encryption if settings else "aes_256_cbc",
        sign=True,
        digest_alg=settings.digest if settings else "sha256",
        mdn_mode=("ASYNC" if settings.mdn == "async" else "SYNC") if settings else "SYNC",
        mdn_digest_alg=settings.digest if settings else "sha256",
        canonicalize_as_binary=True,  # the payload arrives byte for byte (no CRLF rewrite)
    )


def _raw(headers: Any, body: bytes) -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return lines.encode("utf-8") + b"\r\n" + body


def interpret_mdn(status: str | None, detail: str | None) -> tuple[str, str]:
    """(ledger status, reason) from pyas2lib's MDN parse result."""
    if status == "processed":
        return "acknowledged", "processed (signature and MIC verified)"
    if (status or "").lower() == "processed/warning" and "duplicate" in (detail or "").lower():
        return "acknowledged", "processed/warning: duplicate-document (received earlier)"
    return "rejected", f"{status or 'no status'}: {detail or 'no detail'}"


@dataclass
class As2Transport:
    settings: As2Settings
    home: Home
    partner_id: str
    kind: str = "as2"

    def send(self, delivery: Delivery, content: bytes) -> SendOutcome:
        keys = load_keys(self.home, self.settings)
        org = organization(keys, self.settings.async_mdn_url)
        partner = as2_partner(keys, self.settings)
        message = as2.Message(org, partner)
        try:
            message.build(
                content,
                filename=delivery.file_name,
                subject=f"EPCIS {delivery.file_name}",
                # binary transfer: the partner receives the exact bytes we hashed
                content_type="application/octet-stream",
                disposition_notification_to=f"edi@{MESSAGE_DOMAIN}",
                message_id=delivery.message_key,
            )
        except Exception as exc:
            raise PermanentTransportError(f"AS2 message cannot be built: {exc}") from exc
        if message.message_id != delivery.message_id:
            raise PermanentTransportError(
                f"AS2 Message-ID {message.message_id} differs from the ledger's "
                f"{delivery.message_id}"
            )
        mic = message.mic.decode() if message.mic else None
        if self.settings.mdn == "async":
            # the partner may post its MDN back before this POST returns: the station
            # that receives it verifies the MIC from the ledger
            with DeliveryLedger(self.home.partners_ledger) as ledger:
                ledger.record_mic(delivery.message_id, mic)
        try:
            response = requests.post(
                self.settings.url,
                data=message.content,
                headers=dict(message.headers),
                timeout=HTTP_TIMEOUT,
            )
        except requests.RequestException as exc:
            raise TransportError(f"AS2 POST {self.settings.url}: {exc}") from exc
        if response.status_code >= 500:
            raise TransportError(f"AS2 POST {self.settings.url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            return SendOutcome(
                "rejected",
                "as2-http",
                f"HTTP {response.status_code}: {response.text[:200]}",
                mic=mic,
            )
        if self.settings.mdn == "async":
            return SendOutcome("sent", "as2-async-mdn", f"HTTP {response.status_code}", mic=mic)
        mdn = as2.Mdn()
        status, detail = mdn.parse(
            _raw(response.headers, response.content), find_message_cb=lambda *_: message
        )
        ledger_status, reason = interpret_mdn(status, detail)
        return SendOutcome(
            "acknowledged" if ledger_status == "acknowledged" else "rejected",
            "as2-sync-mdn",
            reason,
            ack_message_id=mdn.message_id,
            mic=mic,
        )


def as2_transport(home: Home, partner: Partner) -> As2Transport:
    if not isinstance(partner.transport, As2Settings):
        raise PermanentTransportError(f"partner {partner.id}: transport is not as2")
    return As2Transport(partner.transport, home, partner.id)


# ---------------------------------------------------------------- inbound endpoint

PayloadHandler = Callable[[str, str, str, bytes], None]
"""on_payload(partner as2 id, message id, file name, payload); raise to refuse it."""


@dataclass
class StationPartner:
    keys: As2Keys
    settings: As2Settings | None = None
    partner_id: str | None = None  # our config's partner id (for the ledger)


@dataclass
class As2Station:
    """An AS2 endpoint for one local identity and its partners (HTTP on ``host:port``).

    ``on_payload`` stores a verified payload (raise to answer with a negative MDN);
    ``ledger`` (optional) receives asynchronous MDNs for our outbound messages."""

    local_as2_id: str
    partners: dict[str, StationPartner]  # by the partner's AS2 id
    on_payload: PayloadHandler
    ledger_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    seen_message_ids: set[str] = field(default_factory=set)
    _server: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{MESSAGE_PATH}"

    @property
    def mdn_url(self) -> str:
        return f"http://{self.host}:{self.port}{MDN_PATH}"

    def start(self) -> As2Station:
        station = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                raw = _raw(self.headers, body)
                if self.path == MDN_PATH:
                    code, headers, reply = station.receive_mdn(raw)
                elif self.path == MESSAGE_PATH:
                    code, headers, reply = station.receive_message(raw)
                else:
                    code, headers, reply = 404, {}, b"unknown path"
                self.send_response(code)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("as2 station: " + format, *args)

        self._server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> As2Station:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _find_org(self, as2_id: str) -> Any:
        if as2_id != self.local_as2_id:
            return None
        any_partner = next(iter(self.partners.values()))
        keys = any_partner.keys
        return organization(keys)

    def _find_partner(self, as2_id: str) -> Any:
        entry = self.partners.get(as2_id)
        return as2_partner(entry.keys, entry.settings) if entry else None

    def receive_message(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        message = as2.Message()
        stored: list[bool] = []

        def duplicate(message_id: str, _partner: str) -> bool:
            with self._lock:
                return message_id in self.seen_message_ids

        status, exception, mdn = message.parse(
            raw,
            find_org_cb=self._find_org,
            find_partner_cb=self._find_partner,
            find_message_cb=duplicate,
        )
        if status == "processed":
            sender = message.sender.as2_name
            name = message.payload.get_filename() or f"{message.message_id}.xml"
            try:
                self.on_payload(sender, message.message_id, name, message.content)
                stored.append(True)
                with self._lock:
                    self.seen_message_ids.add(message.message_id)
            except Exception as exc:  # the handler refused the payload: negative MDN
                log.warning("AS2 payload %s refused: %s", message.message_id, exc)
                mdn = as2.Mdn(
                    mdn_mode=mdn.mdn_mode if mdn else "SYNC",
                    mdn_url=mdn.mdn_url if mdn else None,
                    digest_alg=mdn.digest_alg if mdn else None,
                )
                mdn.build(
                    message=message,
                    status="processed/Error",
                    detailed_status=f"unexpected-processing-error ({_one_line(exc)})",
                )
        elif exception is not None:
            log.warning("AS2 message refused: %s", exception[0])
        if mdn is None:
            return 200, {}, b""
        if mdn.mdn_mode == "ASYNC" and mdn.mdn_url:
            threading.Thread(target=self._post_async_mdn, args=(mdn,), daemon=True).start()
            return 200, {}, b""
        headers = {k: v for k, v in mdn.headers.items() if k.lower() != "content-length"}
        return 200, headers, mdn.content

    def _post_async_mdn(self, mdn: Any) -> None:
        try:
            requests.post(
                mdn.mdn_url, data=mdn.content, headers=dict(mdn.headers), timeout=HTTP_TIMEOUT
            )
        except requests.RequestException as exc:
            log.warning("async MDN to %s not delivered: %s", mdn.mdn_url, exc)

    def receive_mdn(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """An asynchronous MDN for one of our outbound messages: verify, record."""
        if self.ledger_path is None:
            return 404, {}, b"this station does not take MDNs"
        with DeliveryLedger(self.ledger_path) as ledger:

            def find_message(message_id: str, _recipient: str) -> Any:
                delivery = ledger.get(message_id)
                if delivery is None:
                    return None
                entry = next(
                    (p for p in self.partners.values() if p.partner_id == delivery.partner_id),
                    None,
                )
                if entry is None:
                    return None
                original = as2.Message(
                    organization(entry.keys), as2_partner(entry.keys, entry.settings)
                )
                original.message_id = delivery.message_id
                original.mic = delivery.mic.encode() if delivery.mic else None
                return original

            mdn = as2.Mdn()
            status, detail = mdn.parse(raw, find_message_cb=find_message)
            if mdn.orig_message_id is None or ledger.get(mdn.orig_message_id) is None:
                return 400, {}, f"MDN not for a known message: {status} {detail}".encode()
            delivery = ledger.get(mdn.orig_message_id)
            assert delivery is not None
            # 'queued': the MDN overtook the sending call, which marks the delivery sent
            # when it returns (mark_sent keeps an answer already recorded)
            if delivery.status not in ("queued", "sent"):
                return 200, {}, b"already settled"
            ledger_status, reason = interpret_mdn(status, detail)
            if ledger_status == "acknowledged":
                ledger.acknowledge(delivery.message_id, "as2-async-mdn", reason, mdn.message_id)
            else:
                ledger.reject(delivery.message_id, "as2-async-mdn", reason, mdn.message_id)
        return 200, {}, b"recorded"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
