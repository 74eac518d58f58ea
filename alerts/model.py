"""Alert domain: types, severities, policies, the records sources hand in, hashing. Pure.

Nothing here does I/O; :mod:`alerts.store` persists, :mod:`alerts.sources` parses files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from alerts.locks import container_key, item_key
from serialtrace.errors import ValidationError


class AlertType(StrEnum):
    VERIFICATION = "verification"  # a verification answered not found / suspect
    PARTNER_REPORT = "partner_report"  # a trading partner's suspect product report
    LINE_ANOMALY = "line_anomaly"  # serial read twice, decoded serial never issued
    FMD_ALERT = "fmd_alert"  # an NMVS alert (EU FMD level 5) forwarded via the Hub
    MANUAL = "manual"  # reported by a user


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class CaseStatus(StrEnum):
    OPEN = "open"  # raised, nobody assigned yet
    INVESTIGATING = "investigating"  # assigned
    CLOSED = "closed"  # disposition signed


class Disposition(StrEnum):
    CLEARED = "cleared"  # legitimate (or a technical / scanning error): locks released
    ILLEGITIMATE = "illegitimate"  # confirmed: notification content, decommissioning


class Classification(StrEnum):
    """Form FDA 3911 'classification of notification' (one choice; labels: verify against
    the current form, see docs/alerts.md)."""

    COUNTERFEIT = "counterfeit"
    DIVERTED = "diverted"
    STOLEN = "stolen"
    INTENTIONAL_ADULTERATION = "intentional_adulteration"
    UNFIT_FOR_DISTRIBUTION = "unfit_for_distribution"
    FRAUDULENT_TRANSACTION = "fraudulent_transaction"
    MANUFACTURER_HIGH_RISK = "manufacturer_high_risk"


class EntryKind(StrEnum):
    RAISED = "raised"
    STEP = "step"  # an investigation step taken
    FINDING = "finding"
    EVIDENCE = "evidence"  # a document / file reference with its SHA-256
    NOTE = "note"
    ASSIGNMENT = "assignment"
    DETERMINATION = "determination"  # illegitimacy determined: the DSCSA 24 h clock starts
    DISPOSITION = "disposition"
    ESCALATION = "escalation"


#: Signature meanings (21 CFR 11.50(a)(3)): what the signer's signature stands for.
MEANINGS: Final[tuple[str, ...]] = ("reviewed", "approved", "authored", "responsible")


@dataclass(frozen=True)
class Policy:
    severity: Severity
    market: str  # 'US' (DSCSA) or 'EU' (FMD) — drives which notification content applies
    sla: timedelta  # target time from raising to a signed disposition (company policy)


#: Per alert type defaults. Regulatory clocks are separate (DSCSA: 24 h from determination).
POLICIES: Final[dict[AlertType, Policy]] = {
    AlertType.VERIFICATION: Policy(Severity.HIGH, "US", timedelta(hours=24)),
    AlertType.PARTNER_REPORT: Policy(Severity.CRITICAL, "US", timedelta(hours=24)),
    AlertType.LINE_ANOMALY: Policy(Severity.MEDIUM, "US", timedelta(hours=72)),
    AlertType.FMD_ALERT: Policy(Severity.HIGH, "EU", timedelta(hours=24)),
    AlertType.MANUAL: Policy(Severity.MEDIUM, "US", timedelta(hours=48)),
}

#: DSCSA: notify FDA (Form 3911) and trading partners within 24 h of the determination.
DSCSA_NOTIFY_WITHIN: Final = timedelta(hours=24)


@dataclass(frozen=True)
class Subject:
    """One identifier an alert is about: a pack (GTIN + serial) or a case/pallet (SSCC)."""

    gtin: str | None = None
    serial: str | None = None
    lot: str | None = None
    expiry: date | None = None
    sscc: str | None = None

    def __post_init__(self) -> None:
        if self.sscc is None and (self.gtin is None or self.serial is None):
            raise ValidationError("identifier", "needs gtin and serial, or sscc")

    @property
    def key(self) -> str:
        """The quarantine-lock key (see :mod:`alerts.locks`)."""
        try:
            if self.sscc is not None:
                return container_key(self.sscc)
            assert self.gtin is not None and self.serial is not None
            return item_key(self.gtin, self.serial)
        except ValueError as exc:
            raise ValidationError("identifier", str(exc)) from None


def parse_identifier(text: str) -> Subject:
    """``(01)<GTIN>(21)<serial>``, ``(00)<SSCC>``, ``GTIN:SERIAL`` or a bare 18-digit SSCC."""
    raw = text.strip()
    if raw.startswith("(00)"):
        return _checked(Subject(sscc=raw[4:]))
    if raw.startswith("(01)") and "(21)" in raw:
        gtin, serial = raw[4:].split("(21)", 1)
        return _checked(Subject(gtin=gtin, serial=serial))
    if ":" in raw:
        gtin, serial = raw.split(":", 1)
        return _checked(Subject(gtin=gtin.strip(), serial=serial.strip()))
    if len(raw) == 18 and raw.isdigit():
        return _checked(Subject(sscc=raw))
    raise ValidationError(
        "identifier", f"expected (01)GTIN(21)SERIAL, (00)SSCC or GTIN:SERIAL, got {text!r}"
    )


def _checked(subject: Subject) -> Subject:
    subject.key  # noqa: B018 - validates the digits
    return subject


@dataclass(frozen=True)
class VerificationOutcome:
    """What the verification responder answered, as the verification stage logs it.

    ``reason_code`` is the GS1 ``verificationFailureReason`` (e.g. ``No_match_GTIN_Serial``)
    when ``verified`` is false; ``additional_info`` carries ``Suspect`` / ``Illegitimate``
    / ``Recalled`` ... when the responder flagged the product although it matched.
    """

    query_id: str
    at: datetime
    requestor_gln: str | None
    gtin: str
    serial: str
    lot: str | None
    expiry: date | None
    verified: bool
    reason_code: str | None = None
    additional_info: tuple[str, ...] = ()

    def needs_alert(self) -> bool:
        flags = {f.lower() for f in self.additional_info}
        return (not self.verified) or bool(flags & {"suspect", "illegitimate"})


@dataclass(frozen=True)
class Alert:
    """A new alert, from any source, before it becomes a case."""

    alert_type: AlertType
    source_ref: str  # query id, report id, NMVS alert id... (unique per type: idempotent)
    title: str
    subjects: tuple[Subject, ...]
    detail: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None  # default: the type's policy
    market: str | None = None
    raised_at: datetime | None = None  # when the source saw it (default: now)


def canonical(value: Any) -> str:
    """The one JSON form hashed everywhere (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


GENESIS: Final = "0" * 64


def chain_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """The hash of one audit-trail entry, chained to the previous entry's hash."""
    return sha256(prev_hash + "\n" + canonical(entry))
