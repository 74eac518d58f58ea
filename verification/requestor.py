"""The requestor side: ask another manufacturer's responder, routed by GTIN prefix through the
lookup directory of ``verification.toml``; every question is logged like an incoming one
(``direction = outgoing``)."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from serialtrace.errors import SerialtraceError
from serialtrace.gs1.digital_link import digital_link
from serialtrace.settings import Home
from verification.config import VerificationConfig, load_config
from verification.messages import ProductIdentifier, VerificationResponse
from verification.querylog import QueryJournal

__all__ = ["AskResult", "ask"]


@dataclass(frozen=True)
class AskResult:
    url: str
    http_status: int
    response: VerificationResponse | None
    body: dict[str, Any] | None
    error: str | None


def request_url(
    base: str,
    identifier: ProductIdentifier,
    *,
    requestor_gln: str,
    correlation_id: str,
    context: str,
) -> str:
    """The standard's request: a Digital Link on the responder's host plus the parameters."""
    link = digital_link(
        identifier.gtin, identifier.serial, identifier.lot, identifier.expiry, base=base
    )
    extra = (
        f"linkType=verificationService&context={context}"
        f"&reqGLN={requestor_gln}&corrUUID={correlation_id}"
    )
    return link + ("&" if "?" in link else "?") + extra


def ask(
    home: Home,
    identifier: ProductIdentifier,
    *,
    context: str = "dscsaSaleableReturn",
    config: VerificationConfig | None = None,
    timeout: float = 10.0,
    journal: QueryJournal | None = None,
) -> AskResult:
    cfg = config or load_config(home.root)
    entry = cfg.route(identifier.gtin)
    if entry is None:
        raise SerialtraceError(
            f"gtin: {identifier.gtin} matches no gtin_prefix of the lookup directory "
            "(verification.toml [[directory]])"
        )
    correlation_id = str(uuid.uuid4())
    url = request_url(
        entry.url,
        identifier,
        requestor_gln=cfg.requestor_gln,
        correlation_id=correlation_id,
        context=context,
    )
    row: dict[str, Any] = {
        "query_id": str(uuid.uuid4()),
        "direction": "outgoing",
        "requestor_gln": cfg.requestor_gln,
        "responder_url": entry.url,
        "correlation_id": correlation_id,
        "context": context,
        "request_form": "digital_link",
        "request_text": url,
        "gtin": identifier.gtin,
        "serial": identifier.serial,
        "lot": identifier.lot,
        "expiry": identifier.expiry,
    }
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {entry.api_key()}", "Accept": "application/json"}
    )
    started = time.perf_counter_ns()
    status, body, response, error = 0, None, None, None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status = reply.status
            body = json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        status = exc.code
        error = exc.read().decode("utf-8", "replace")[:500] or exc.reason
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        error = f"responder unreachable: {exc}"
    except ValueError as exc:
        error = f"answer is not JSON: {exc}"
    if body is not None:
        try:
            response = VerificationResponse.from_json(body)
            if body.get("corrUUID") != correlation_id:
                error, response = "answer's corrUUID does not echo the request's", None
        except SerialtraceError as exc:
            error = f"answer does not follow the standard: {exc}"
    row.update(
        logged_at=dt.datetime.now(dt.UTC).isoformat(),
        latency_us=(time.perf_counter_ns() - started) // 1000,
        http_status=status,
        responder_gln=body.get("responderGLN") if isinstance(body, dict) else None,
    )
    if response is not None:
        row.update(
            outcome="verified" if response.verified else "not_verified",
            verified=response.verified,
            reason_code=response.failure_reason.value if response.failure_reason else None,
            additional_info=response.additional_info.value if response.additional_info else None,
        )
    else:
        outcome = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found"}
        row.update(outcome=outcome.get(status, "upstream_error"), error_detail=error)
    own = journal is None
    log = journal or QueryJournal(home.root)
    try:
        log.append(row)
    finally:
        if own:
            log.close()
    return AskResult(url, status, response, body, error)
