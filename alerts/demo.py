"""The demo's alert step: a verification for a serial that was never issued raises an
alert, which is quarantined, investigated, determined counterfeit, signed and closed.

The demo acts as the demo users of serialtrace/clients_demo.py (generated passwords, in
``<home>/demo-users.txt``); run alone, it creates its two users with random passwords.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from alerts.locks import item_key
from alerts.model import Classification, Disposition, EntryKind, VerificationOutcome
from alerts.notification import form_3911
from alerts.service import dispose_case, on_verification, store_for
from alerts.store import TrailCheck
from serialtrace.config import DemoConfig
from serialtrace.errors import SerialtraceError
from serialtrace.settings import Home
from serialtrace.users import UserStore

DEMO_ADMIN = "demo-admin"
DEMO_QA = "demo-qa"
#: A requestor GLN from the GS1 documentation prefix (the verification brief's example).
DEMO_REQUESTOR_GLN = "9506000000015"


@dataclass(frozen=True)
class AlertDemoResult:
    case_id: str
    serial: str
    disposition: str
    signed_by: str
    record_hash: str
    trail: TrailCheck
    notification: tuple[Path, Path]


def ensure_demo_users(users: UserStore) -> dict[str, str]:
    """The demo's admin and quality users, (re)keyed with random passwords."""
    passwords = {DEMO_ADMIN: secrets.token_urlsafe(12), DEMO_QA: secrets.token_urlsafe(12)}
    existing = {u.name for u in users.all()}
    for name in existing & set(passwords):
        users.set_password(name, passwords[name], by=DEMO_ADMIN)
    if DEMO_ADMIN not in existing:
        users.add(
            DEMO_ADMIN,
            passwords[DEMO_ADMIN],
            full_name="Demo Administrator",
            roles=["admin"],
            by="demo",
        )
    if DEMO_QA not in existing:
        users.add(
            DEMO_QA,
            passwords[DEMO_QA],
            full_name="Dana Demo (Quality)",
            roles=["quality"],
            email="demo-qa@example.invalid",
            by=DEMO_ADMIN,
        )
    return passwords


def demo_alerts(
    home: Home,
    cfg: DemoConfig,
    say: Callable[[str], None],
    logged_serial: str | None = None,
    passwords: dict[str, str] | None = None,
) -> AlertDemoResult:
    """The alert demo. With ``logged_serial``, the alert comes from the verification query
    log (the answer the demo's responder gave for that never-issued serial); without, from
    a verification outcome made up here."""
    users = UserStore(home.users_db)
    if passwords is None or DEMO_QA not in passwords:
        passwords = ensure_demo_users(users)
    store = store_for(home)
    if logged_serial is not None:
        from alerts.verification_source import outcomes_from_query_log

        logged = [
            o
            for o in outcomes_from_query_log(home)
            if o.gtin == cfg.product.gtin and o.serial == logged_serial
        ]
        if not logged:
            raise SerialtraceError(
                f"demo: the verification log holds no not-verified answer for {logged_serial}"
            )
        outcome = logged[-1]
        serial = outcome.serial
        _check_never_issued(home, cfg.product.gtin, serial)
    else:
        # a serial of the demo's format that the ledger never issued: 12 digits from 0000
        # (randomized pools draw from the whole range; the warehouse check below proves it)
        serial = "0000" + "".join(secrets.choice("0123456789") for _ in range(8))
        _check_never_issued(home, cfg.product.gtin, serial)
        outcome = VerificationOutcome(
            query_id=f"demo-{secrets.token_hex(8)}",
            at=datetime.now(UTC),
            requestor_gln=DEMO_REQUESTOR_GLN,
            gtin=cfg.product.gtin,
            serial=serial,
            lot=cfg.lot.lot,
            expiry=cfg.lot.expiry,
            verified=False,
            reason_code="No_match_GTIN_Serial",
        )
    case = on_verification(home, outcome)
    if case is None:
        raise SerialtraceError("demo: a not-found verification did not open a case")
    held = store.locks.case_for(item_key(cfg.product.gtin, serial))
    say(f"      alert {case.case_id}: {case.title}; quarantine held by {held}")
    store.assign(case.case_id, DEMO_QA, user=DEMO_ADMIN)
    store.add_entry(
        case.case_id,
        EntryKind.STEP,
        "looked the serial up in the serial ledger and the warehouse",
        user=DEMO_QA,
    )
    store.add_entry(
        case.case_id,
        EntryKind.FINDING,
        f"serial {serial} was never issued for GTIN {cfg.product.gtin}",
        user=DEMO_QA,
    )
    store.determine(
        case.case_id,
        Classification.COUNTERFEIT,
        "a never-issued serial on a pack in the market: counterfeit",
        user=DEMO_QA,
    )
    notification = form_3911(
        store, case.case_id, home.warehouse, users=users, contact_user=DEMO_QA
    ).write(home.root / "alerts" / "out")
    closed, signature = dispose_case(
        home,
        case.case_id,
        Disposition.ILLEGITIMATE,
        "counterfeit confirmed; Form FDA 3911 content prepared",
        users,
        DEMO_QA,
        passwords[DEMO_QA],
    )
    trail = store.verify_trail()
    say(
        f"      {closed.case_id} closed {closed.disposition}, signed by {signature.full_name} "
        f"({signature.meaning}); {trail}"
    )
    return AlertDemoResult(
        closed.case_id,
        serial,
        str(closed.disposition),
        signature.full_name,
        signature.record_hash,
        trail,
        notification,
    )


def _check_never_issued(home: Home, gtin: str, serial: str) -> None:
    import duckdb

    if not home.warehouse.is_file():
        return
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        found = con.execute(
            "select count(*) from serial_lifecycle where gtin = ? and serial = ?", [gtin, serial]
        ).fetchone()
    if found and found[0]:
        raise SerialtraceError(f"demo: serial {serial} exists; cannot play a never-issued one")
