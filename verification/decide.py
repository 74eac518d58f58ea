"""The responder's answer for one product identifier: pure, from one index record.

Decision table (GS1 US Implementation Guideline R1.3 codes; the choices marked *policy*
are this project's ``Manufacturer_policy`` and are documented in docs/verification.md):

| what the index says | verified | verificationFailureReason | additionalInfo |
|---|---|---|---|
| unknown serial (never issued; other client's) | false | No_match_GTIN_Serial | |
| lot and/or expiry differ | false | No_match_GTIN_Serial_Lot / _Expiry / _Lot_Expiry | |
| quarantined (open alert lock) | false | Not_for_re-distribution | Suspect |
| stolen | false | Not_for_re-distribution | Illegitimate |
| lot blocked (release status not released) | false | Manufacturer_policy *policy* | Suspect |
| decommissioned / dispensed (not recalled, not expired) | false | Manufacturer_policy *policy* | |
| recalled (serial decommissioned for recall, or lot recalled) | true | | Recalled |
| expired (expiry date past) | true | | Expired |
| active | true | | |
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from serialtrace.gs1.charset import yymmdd_to_date
from verification.messages import (
    AdditionalInfo,
    FailureReason,
    ProductIdentifier,
    VerificationResponse,
)

__all__ = ["IndexRecord", "decide"]

#: Statuses of a serial that was put into circulation (commissioned at the line).
CIRCULATING: Final = frozenset({"commissioned", "aggregated", "shipped", "received"})
#: Statuses of a serial that left circulation.
RETIRED: Final = frozenset({"dispensed", "decommissioned"})
#: Decommission reasons that mean the serial was never a saleable pack.
NEVER_ISSUED_REASONS: Final = frozenset({"unused_at_batch_close"})
#: Lot release statuses that allow the product to be answered as legitimate.
RELEASED: Final = frozenset({"released"})
RECALLED_LOT: Final = frozenset({"recalled"})


@dataclass(frozen=True)
class IndexRecord:
    """What the verification index holds about one serial (see the verification_index mart)."""

    gtin: str
    serial: str
    lot: str
    expiry: dt.date
    status: str
    status_reason: str | None
    lot_release_status: str | None
    company_id: str | None


def _reason(record: IndexRecord) -> str:
    """The decommission reason without its detail (``rejected_at_line:low_grade``)."""
    return (record.status_reason or "").split(":", 1)[0]


def _issued(record: IndexRecord) -> bool:
    if record.status in CIRCULATING:
        return True
    return record.status in RETIRED and _reason(record) not in NEVER_ISSUED_REASONS


def decide(
    identifier: ProductIdentifier,
    record: IndexRecord | None,
    *,
    today: dt.date,
    quarantined: bool = False,
    client: str | None = None,
) -> VerificationResponse:
    """The answer for ``identifier`` given its index record (``None``: unknown serial).

    ``client`` (CMO scoping) hides every record of another client; ``quarantined`` is the
    live quarantine lock, which overrides everything the index says once the serial exists.
    """
    if (
        record is None
        or not _issued(record)
        or (client is not None and record.company_id != client)
    ):
        return VerificationResponse(False, FailureReason.NO_MATCH_GTIN_SERIAL)
    lot_ok = identifier.lot is None or identifier.lot == record.lot
    expiry_ok = (
        identifier.expiry is None or yymmdd_to_date(identifier.expiry, today) == record.expiry
    )
    if not lot_ok and not expiry_ok:
        return VerificationResponse(False, FailureReason.NO_MATCH_GTIN_SERIAL_LOT_EXPIRY)
    if not lot_ok:
        return VerificationResponse(False, FailureReason.NO_MATCH_GTIN_SERIAL_LOT)
    if not expiry_ok:
        return VerificationResponse(False, FailureReason.NO_MATCH_GTIN_SERIAL_EXPIRY)
    if quarantined:
        return VerificationResponse(
            False, FailureReason.NOT_FOR_REDISTRIBUTION, AdditionalInfo.SUSPECT
        )
    reason = _reason(record)
    if reason == "stolen":
        return VerificationResponse(
            False, FailureReason.NOT_FOR_REDISTRIBUTION, AdditionalInfo.ILLEGITIMATE
        )
    lot_status = (record.lot_release_status or "released").lower()
    recalled = reason == "recalled" or lot_status in RECALLED_LOT
    if recalled:
        return VerificationResponse(True, None, AdditionalInfo.RECALLED)
    if lot_status not in RELEASED:
        return VerificationResponse(
            False, FailureReason.MANUFACTURER_POLICY, AdditionalInfo.SUSPECT
        )
    expired = record.expiry < today
    if record.status in RETIRED and not (reason == "expired" or expired):
        return VerificationResponse(False, FailureReason.MANUFACTURER_POLICY)
    if expired or reason == "expired":
        return VerificationResponse(True, None, AdditionalInfo.EXPIRED)
    return VerificationResponse(True)
