"""The demo's verification step: the responder on loopback answers one serial of the demo
batch (verified) and one serial that was never issued (not verified)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from serialtrace.config import DemoConfig
from serialtrace.errors import SerialtraceError
from serialtrace.gs1.charset import date_to_yymmdd
from serialtrace.settings import Home
from verification.keys import key_store
from verification.messages import ProductIdentifier
from verification.requestor import request_url
from verification.service import ResponderThread
from verification.store import LookupStore, store_path

__all__ = ["VerificationDemo", "demo_verification"]


@dataclass(frozen=True)
class VerificationDemo:
    issued: ProductIdentifier
    issued_answer: dict[str, Any]
    never_issued: ProductIdentifier
    never_issued_answer: dict[str, Any]


def _get(url: str, key: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            body: dict[str, Any] = json.loads(reply.read())
            return body
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        raise SerialtraceError(
            f"verification demo: responder answered {exc.code}: {detail}"
        ) from exc


def demo_verification(
    home: Home, cfg: DemoConfig, say: Callable[[str], None], work_order_id: str | None = None
) -> VerificationDemo:
    """Serve, ask twice, print both answers (the lookup store was built by materialize)."""
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        row = con.execute(
            "select serial, lot, expiry from verification_index where gtin = ?"
            " and status in ('commissioned', 'aggregated', 'shipped', 'received')"
            + (" and work_order_id = ?" if work_order_id else "")
            + " order by serial limit 1",
            [cfg.product.gtin, *([work_order_id] if work_order_id else [])],
        ).fetchone()
    if row is None:
        raise SerialtraceError("verification demo: the batch has no commissioned serial")
    issued = ProductIdentifier(cfg.product.gtin, row[0], row[1], date_to_yymmdd(row[2]))
    store = LookupStore(store_path(home.root))
    candidate = 0
    while store.get(cfg.product.gtin, f"{candidate:012d}") is not None:
        candidate += 1
    store.close()
    never = ProductIdentifier(cfg.product.gtin, f"{candidate:012d}", issued.lot, issued.expiry)
    # bound to the demo company: answered from its data space (CMO mode, docs/cmo.md)
    key = key_store(home).add(
        "Demo wholesaler", gln=cfg.customer.gln, company_id=cfg.company.company_id
    )
    answers = []
    with ResponderThread(home) as base:
        say(f"      responder on {base} (key for 'Demo wholesaler' created)")
        for identifier in (issued, never):
            url = request_url(
                base,
                identifier,
                requestor_gln=cfg.customer.gln,
                correlation_id=str(uuid.uuid4()),
                context="dscsaSaleableReturn",
            )
            answer = _get(url, key)
            answers.append(answer)
            say(f"      GET {url.removeprefix(base)}")
            say(f"        -> {json.dumps(answer['data'])}")
    return VerificationDemo(issued, answers[0], never, answers[1])
