"""HTTP transport: POST of an EPCIS document to a partner's capture endpoint (EPCIS 2.0
capture interface, ``POST /capture``), TLS verification always on.

The server is verified against the system trust store, or against the CA bundle named by
``ca_file`` (relative to the home) for a partner with a private CA; verification cannot be
switched off. ``202 Accepted`` (or any 2xx) = acknowledged, with the capture job's
``Location`` recorded; 4xx = rejected (the partner refused the document, body kept as the
reason); 5xx or no connection = retried; an untrusted certificate = failed at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from partners.config import HttpSettings, Partner, key_path, read_secret_env
from partners.ledger import Delivery
from partners.transport import PermanentTransportError, SendOutcome, TransportError
from serialtrace.settings import Home

CONTENT_TYPES = {".json": "application/json", ".jsonld": "application/ld+json"}


@dataclass
class HttpTransport:
    settings: HttpSettings
    home: Home
    partner_id: str
    kind: str = "http"

    def send(self, delivery: Delivery, content: bytes) -> SendOutcome:
        s = self.settings
        verify: str | bool = True
        if s.ca_file:
            verify = str(key_path(self.home, s.ca_file, "transport.ca_file"))
        suffix = "." + delivery.file_name.rsplit(".", 1)[-1] if "." in delivery.file_name else ""
        headers = {
            "Content-Type": CONTENT_TYPES.get(suffix, "application/xml"),
            "GS1-EPCIS-Version": "2.0.0",
            "Message-ID": delivery.message_id,  # the partner deduplicates resends on it
            "Content-Digest": f"sha-256=:{_b64_sha256(content)}:",
        }
        token = read_secret_env(s.token_env, "transport.token_env")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = requests.post(
                s.url, data=content, headers=headers, timeout=s.timeout_seconds, verify=verify
            )
        except requests.exceptions.SSLError as exc:
            raise PermanentTransportError(
                f"HTTPS {s.url}: TLS verification failed, not sent: {_reason(exc)}"
            ) from exc
        except requests.RequestException as exc:
            raise TransportError(f"HTTPS {s.url}: {_reason(exc)}") from exc
        if response.status_code >= 500:
            raise TransportError(f"HTTPS {s.url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            body = " ".join(response.text.split())[:300]
            return SendOutcome("rejected", "http-status", f"HTTP {response.status_code}: {body}")
        location = response.headers.get("Location", "")
        detail = f"HTTP {response.status_code}" + (f", capture job {location}" if location else "")
        return SendOutcome("acknowledged", "http-status", detail)


def _b64_sha256(content: bytes) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(content).digest()).decode()


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300]


def http_transport(home: Home, partner: Partner) -> HttpTransport:
    if not isinstance(partner.transport, HttpSettings):
        raise PermanentTransportError(f"partner {partner.id}: transport is not http")
    return HttpTransport(partner.transport, home, partner.id)
