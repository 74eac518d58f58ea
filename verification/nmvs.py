"""EU FMD: pack state from the national medicines verification system (NMVS) of a market.

Each market of ``verification.toml`` names its endpoint and the environment variables that
hold its credentials. The adapter here speaks a small JSON-over-HTTPS binding (HTTP Basic
auth, ``GET {url}/packs/verify?productCode=&serialNumber=&batchId=&expiryDate=``) answering
``{"state": "Active"|"Inactive", "reason": …, "returnCode": …}``. The NMVS's own interface
(the EMVS "single pack verify" transaction) is not public material available to this project:
a market whose NMVO exposes another binding needs one more adapter implementing
:func:`lookup_pack`'s contract (see docs/verification.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Final

from serialtrace.errors import ConfigurationError, SerialtraceError
from serialtrace.settings import Home
from verification.config import VerificationConfig, load_config
from verification.messages import ProductIdentifier
from verification.querylog import QueryJournal

__all__ = ["INACTIVE_REASONS", "PackState", "lookup_pack"]

#: EMVS pack states other than Active (Delegated Regulation (EU) 2016/161; EMVO wording).
INACTIVE_REASONS: Final = frozenset(
    {
        "Supplied",
        "Destroyed",
        "Exported",
        "Stolen",
        "Sample",
        "Free sample",
        "Locked",
        "Checked-out",
        "Expired",
        "Recalled",
        "Withdrawn",
    }
)


@dataclass(frozen=True)
class PackState:
    market: str
    active: bool
    reason: str | None  # the inactive state, e.g. "Supplied"
    return_code: str | None  # e.g. NMVS_NC_PC_02 (unknown serial)

    def as_dict(self) -> dict[str, Any]:
        return {
            "market": self.market,
            "state": "Active" if self.active else "Inactive",
            "reason": self.reason,
            "returnCode": self.return_code,
        }


def _parse_state(market: str, body: Any) -> PackState:
    if not isinstance(body, dict):
        raise SerialtraceError(f"market {market}: NMVS answer is not a JSON object")
    state, reason, code = body.get("state"), body.get("reason"), body.get("returnCode")
    if state == "Active":
        return PackState(market, True, None, code)
    if state == "Inactive":
        if reason is not None and reason not in INACTIVE_REASONS:
            raise SerialtraceError(f"market {market}: unknown inactive reason {reason!r}")
        return PackState(market, False, reason, code)
    raise SerialtraceError(f"market {market}: NMVS state must be Active or Inactive, got {state!r}")


def lookup_pack(
    home: Home,
    market: str,
    identifier: ProductIdentifier,
    *,
    config: VerificationConfig | None = None,
    timeout: float = 10.0,
) -> PackState:
    cfg = config or load_config(home.root)
    entry = cfg.markets.get(market.upper())
    if entry is None:
        known = ", ".join(sorted(cfg.markets)) or "none"
        raise ConfigurationError(f"market {market!r} is not configured (configured: {known})")
    user, password = entry.credentials()
    query = {"productCode": identifier.gtin, "serialNumber": identifier.serial}
    if identifier.lot is not None:
        query["batchId"] = identifier.lot
    if identifier.expiry is not None:
        query["expiryDate"] = identifier.expiry
    url = f"{entry.url}/packs/verify?{urllib.parse.urlencode(query)}"
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request = urllib.request.Request(
        url, headers={"Authorization": f"Basic {token}", "Accept": "application/json"}
    )
    started = time.perf_counter_ns()
    status, state, error = 0, None, None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            status = reply.status
            state = _parse_state(entry.code, json.loads(reply.read()))
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"NMVS {entry.code} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        error = f"NMVS {entry.code} unreachable: {exc}"
    except ValueError as exc:
        error = f"NMVS {entry.code} answer is not JSON: {exc}"
    except SerialtraceError as exc:
        error = str(exc)
    journal = QueryJournal(home.root)
    try:
        journal.append(
            {
                "query_id": str(uuid.uuid4()),
                "logged_at": dt.datetime.now(dt.UTC).isoformat(),
                "direction": "outgoing",
                "requestor_gln": cfg.requestor_gln,
                "responder_url": entry.url,
                "context": f"nmvs:{entry.code}",
                "request_form": "nmvs",
                "request_text": url,
                "http_status": status,
                "outcome": ("verified" if state.active else "not_verified")
                if state
                else ("unauthenticated" if status == 401 else "upstream_error"),
                "verified": state.active if state else None,
                "reason_code": (state.return_code or state.reason) if state else None,
                "additional_info": state.reason if state else None,
                "error_detail": error,
                "gtin": identifier.gtin,
                "serial": identifier.serial,
                "lot": identifier.lot,
                "expiry": identifier.expiry,
                "latency_us": (time.perf_counter_ns() - started) // 1000,
            }
        )
    finally:
        journal.close()
    if state is None:
        raise SerialtraceError(error or f"NMVS {entry.code}: no answer")
    return state
