"""The entry points other stages call: raise an alert (from any source), dispose of a case,
and the lock checks for shipping and verification.

``raise_alert`` expands the reported identifiers through the warehouse (a pallet locks
its cases and items), opens the case and locks everything in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.hierarchy import expand
from alerts.locks import QuarantineLocks, item_key
from alerts.model import (
    Alert,
    AlertType,
    Disposition,
    Severity,
    Subject,
    VerificationOutcome,
)
from alerts.store import AlertStore, Case, Clock, Signature, utc_now
from serialtrace.errors import SerialtraceError
from serialtrace.settings import Home
from serialtrace.users import UserStore

#: Container levels a case can report (their content is decommissioned in one request).
CONTAINERS = ("case", "pallet")

#: Who the system acts as when a source raises an alert by itself.
SYSTEM_USER = "system"


def store_for(home: Home, clock: Clock = utc_now) -> AlertStore:
    return AlertStore(home.alerts_db, clock=clock)


def raise_alert(
    home: Home, alert: Alert, *, user: str = SYSTEM_USER, clock: Clock = utc_now
) -> tuple[Case, bool]:
    """Open (or find, when already raised) the case of ``alert``; True when new."""
    affected = expand(home.warehouse, alert.subjects)
    return store_for(home, clock).open_case(alert, affected, user=user)


_REASONS = {
    "No_match_GTIN_Serial": "serial not found for this GTIN (never issued?)",
    "No_match_GTIN_Serial_Lot": "serial found, lot does not match",
    "No_match_GTIN_Serial_Expiry": "serial found, expiry does not match",
    "No_match_GTIN_Serial_Lot_Expiry": "serial found, lot and expiry do not match",
}


def alert_from_verification(outcome: VerificationOutcome) -> Alert | None:
    """The alert a verification answer calls for, or None (verified and not flagged)."""
    if not outcome.needs_alert():
        return None
    why = (
        _REASONS.get(outcome.reason_code or "", outcome.reason_code or "not verified")
        if not outcome.verified
        else f"flagged {', '.join(outcome.additional_info)}"
    )
    return Alert(
        alert_type=AlertType.VERIFICATION,
        source_ref=outcome.query_id,
        title=f"Verification {outcome.gtin}/{outcome.serial}: {why}",
        subjects=(
            Subject(
                gtin=outcome.gtin, serial=outcome.serial, lot=outcome.lot, expiry=outcome.expiry
            ),
        ),
        detail={
            "query_id": outcome.query_id,
            "at": outcome.at.isoformat(),
            "requestor_gln": outcome.requestor_gln,
            "gtin": outcome.gtin,
            "serial": outcome.serial,
            "lot": outcome.lot,
            "expiry": None if outcome.expiry is None else outcome.expiry.isoformat(),
            "verified": outcome.verified,
            "reason_code": outcome.reason_code,
            "additional_info": list(outcome.additional_info),
        },
        severity=Severity.CRITICAL
        if {"illegitimate"} & {f.lower() for f in outcome.additional_info}
        else None,
        raised_at=outcome.at,
    )


def on_verification(
    home: Home, outcome: VerificationOutcome, *, clock: Clock = utc_now
) -> Case | None:
    """The hook the verification stage calls for every answer it gave (idempotent on the
    query id): opens a case when the answer was not found or suspect."""
    alert = alert_from_verification(outcome)
    if alert is None:
        return None
    return raise_alert(home, alert, clock=clock)[0]


def dispose_case(
    home: Home,
    case_id: str,
    disposition: Disposition,
    text: str,
    users: UserStore,
    name: str,
    password: str,
    *,
    meaning: str = "approved",
    expected_version: int | None = None,
    clock: Clock = utc_now,
) -> tuple[Case, Signature]:
    """Signed disposition. Illegitimate: every affected serial the warehouse knows is
    decommissioned through serialtrace/lifecycle (reason ``stolen`` for stolen product,
    else ``destroyed``: it will be destroyed); serials never issued are listed as such."""
    store = store_for(home, clock)

    def decommission_all(case: Case) -> dict[str, Any]:
        if disposition != Disposition.ILLEGITIMATE:
            return {}
        from serialtrace.lifecycle.decommission import decommission

        reason = "stolen" if case.classification == "stolen" else "destroyed"
        done: list[str] = []
        not_issued: list[str] = []
        already: list[str] = []
        rows = store.identifiers(case_id)
        # a reported case or pallet: one request for everything inside (serials already
        # final are skipped by the lifecycle stage); a reported pack: one request each
        containers = [r for r in rows if r["role"] == "reported" and r["level"] in CONTAINERS]
        for row in containers:
            try:
                result = decommission(home.warehouse, home.raw, "sscc", row["sscc"], reason, name)
            except SerialtraceError as exc:
                if "already final" not in str(exc):
                    raise
                continue
            done.extend(f"(01){t.gtin}(21){t.serial}" for t in result.decommissioned)
            already.extend(f"(01){t.gtin}(21){t.serial}" for t, _why in result.skipped)
        for row in rows:
            if row["level"] != "item" or row["role"] != "reported":
                continue
            if row["status"] is None:
                not_issued.append(row["identifier"])
                continue
            if row["status"] in ("decommissioned", "dispensed"):
                already.append(row["identifier"])
                continue
            result = decommission(
                home.warehouse,
                home.raw,
                "serial",
                f"{row['gtin']}:{row['serial']}",
                reason,
                name,
            )
            done.extend(f"(01){t.gtin}(21){t.serial}" for t in result.decommissioned)
        return {
            "decommission_reason": reason,
            "decommissioned": done,
            "not_in_warehouse": not_issued,
            "already_final": already,
        }

    return store.dispose(
        case_id,
        disposition,
        text,
        users,
        name,
        password,
        meaning=meaning,
        expected_version=expected_version,
        before_close=decommission_all,
    )


class QuarantinedError(SerialtraceError):
    """An identifier is under quarantine: it must not ship."""


@dataclass(frozen=True)
class LockVerdict:
    locked: bool
    case_id: str | None


def check_shippable(locks: QuarantineLocks, identifiers: list[str]) -> None:
    """Refuse to ship any quarantined identifier (the shipping EPCIS path calls this with
    the lock keys of everything it ships); the message names each case."""
    held = locks.active(identifiers)
    if held:
        listed = ", ".join(f"{k} (case {v.case_id})" for k, v in sorted(held.items())[:10])
        more = f" and {len(held) - 10} more" if len(held) > 10 else ""
        raise QuarantinedError(
            f"shipping refused: {len(held)} identifier(s) under quarantine: {listed}{more}"
        )


def verification_lock(locks: QuarantineLocks, gtin: str, serial: str) -> LockVerdict:
    """What the verification responder must answer for a quarantined pack: when locked,
    ``verified`` stays as the repository says but ``additionalInfo`` must carry
    ``Suspect`` (the case number is logged, not disclosed to the requestor)."""
    case = locks.case_for(item_key(gtin, serial))
    return LockVerdict(case is not None, case)


def raise_all(
    home: Home, alerts: list[Alert], *, user: str = SYSTEM_USER, clock: Clock = utc_now
) -> list[tuple[Case, bool]]:
    """Raise every alert of an already fully parsed file (each idempotent)."""
    return [raise_alert(home, a, user=user, clock=clock) for a in alerts]
