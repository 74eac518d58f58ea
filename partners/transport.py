"""What every transport (SFTP, AS2, HTTP) implements, and how it reports an outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from partners.ledger import Delivery
from serialtrace.errors import SerialtraceError


class TransportError(SerialtraceError):
    """The attempt failed but may succeed later (partner down, timeout, HTTP 5xx)."""


class PermanentTransportError(TransportError):
    """Retrying cannot help (host key refused, TLS certificate untrusted, bad config)."""


@dataclass(frozen=True)
class SendOutcome:
    """``acknowledged``: the partner confirmed receipt now (sync MDN, HTTP 2xx, verified
    remote copy); ``sent``: accepted, acknowledgement comes later (async MDN);
    ``rejected``: the partner refused the file (negative MDN, HTTP 4xx)."""

    status: Literal["sent", "acknowledged", "rejected"]
    ack_kind: str
    detail: str
    ack_message_id: str | None = None
    mic: str | None = None


class Transport(Protocol):
    kind: str

    def send(self, delivery: Delivery, content: bytes) -> SendOutcome:
        """Transmit ``content`` under ``delivery.message_id`` (the same ID on every retry)."""
        ...
