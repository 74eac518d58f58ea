"""GS1 Lightweight Messaging Standard for Verification of Product Identifiers: the messages.

Pure model, no I/O. A request is an HTTP GET on a GS1 Digital Link URI
(``/01/{gtin14}/10/{lot}/21/{serial}?17={YYMMDD}&linkType=verificationService&context=…
&reqGLN=…&corrUUID=…``); the response is JSON with ``verificationTimestamp``, ``responderGLN``,
``corrUUID`` and ``data`` (``verified``, ``verificationFailureReason`` when false, optional
``additionalInfo``). Codes as the standard (Release 1.0.2/1.1) and the GS1 US Implementation
Guideline (R1.3) spell them.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from serialtrace.errors import ValidationError
from serialtrace.gs1.charset import validate_lot, validate_serial, validate_yymmdd
from serialtrace.gs1.keys import normalize_gtin, validate_gln

__all__ = [
    "LINK_TYPES",
    "AdditionalInfo",
    "FailureReason",
    "ProductIdentifier",
    "VerificationRequest",
    "VerificationResponse",
    "parse_request_params",
]


class FailureReason(StrEnum):
    """``data.verificationFailureReason`` (only when ``verified`` is false)."""

    NO_MATCH_GTIN_SERIAL = "No_match_GTIN_Serial"
    NO_MATCH_GTIN_SERIAL_LOT = "No_match_GTIN_Serial_Lot"
    NO_MATCH_GTIN_SERIAL_EXPIRY = "No_match_GTIN_Serial_Expiry"
    NO_MATCH_GTIN_SERIAL_LOT_EXPIRY = "No_match_GTIN_Serial_Lot_Expiry"
    MANUFACTURER_POLICY = "Manufacturer_policy"
    NO_REASON_PROVIDED = "No_reason_provided"
    NOT_FOR_REDISTRIBUTION = "Not_for_re-distribution"


class AdditionalInfo(StrEnum):
    """``data.additionalInfo`` (optional, with either answer)."""

    EXPIRED = "Expired"
    EXPIRATION_EXTENDED = "ExpirationExtended"
    RECALLED = "Recalled"
    SUSPECT = "Suspect"
    ILLEGITIMATE = "Illegitimate"


#: ``linkType`` values a verification request may carry (absent is accepted too).
LINK_TYPES: Final = frozenset({"verificationService", "gs1:verificationService"})

_CONTEXT: Final = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")


@dataclass(frozen=True)
class ProductIdentifier:
    """The DSCSA product identifier: GTIN-14 + serial, with the lot and expiry asked about."""

    gtin: str
    serial: str
    lot: str | None = None
    expiry: str | None = None  # YYMMDD as carried in (17)


@dataclass(frozen=True)
class VerificationRequest:
    identifier: ProductIdentifier
    requestor_gln: str
    correlation_id: str
    context: str
    link_type: str | None = None


@dataclass(frozen=True)
class VerificationResponse:
    verified: bool
    failure_reason: FailureReason | None = None
    additional_info: AdditionalInfo | None = None

    def __post_init__(self) -> None:
        if self.verified and self.failure_reason is not None:
            raise ValueError("a verified answer carries no verificationFailureReason")
        if not self.verified and self.failure_reason is None:
            raise ValueError("a not-verified answer needs a verificationFailureReason")

    def to_json(
        self, *, responder_gln: str, correlation_id: str, timestamp: dt.datetime
    ) -> dict[str, Any]:
        """The response body, field names as the standard gives them."""
        data: dict[str, Any] = {"verified": self.verified}
        if self.failure_reason is not None:
            data["verificationFailureReason"] = self.failure_reason.value
        if self.additional_info is not None:
            data["additionalInfo"] = self.additional_info.value
        return {
            "verificationTimestamp": iso_utc(timestamp),
            "responderGLN": responder_gln,
            "corrUUID": correlation_id,
            "data": data,
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> VerificationResponse:
        """Read a responder's answer (requestor side); raises ValidationError naming the field."""
        data = body.get("data")
        if not isinstance(data, Mapping):
            raise ValidationError("data", "must be a JSON object")
        verified = data.get("verified")
        if not isinstance(verified, bool):
            raise ValidationError("data.verified", "must be true or false")
        reason = data.get("verificationFailureReason")
        info = data.get("additionalInfo")
        try:
            failure = FailureReason(reason) if reason is not None else None
        except ValueError as exc:
            raise ValidationError("data.verificationFailureReason", f"unknown {reason!r}") from exc
        if isinstance(info, list):  # some responders send a list; keep the first
            info = info[0] if info else None
        try:
            additional = AdditionalInfo(info) if info is not None else None
        except ValueError as exc:
            raise ValidationError("data.additionalInfo", f"unknown {info!r}") from exc
        try:
            return cls(verified, failure, additional)
        except ValueError as exc:
            raise ValidationError("data", str(exc)) from exc


def iso_utc(moment: dt.datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    text = moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _one(params: Mapping[str, list[str]], name: str, *, required: bool) -> str | None:
    values = params.get(name)
    if not values:
        if required:
            raise ValidationError(name, "is required")
        return None
    if len(values) > 1:
        raise ValidationError(name, "must be given once")
    return values[0]


def validate_correlation_id(value: str, field: str = "corrUUID") -> str:
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValidationError(field, f"must be a UUID, got {value!r}") from exc
    if len(value) != 36:
        raise ValidationError(field, "must be a UUID in its 36-character form")
    return str(parsed)


def parse_request_params(
    identifier: ProductIdentifier, params: Mapping[str, list[str]], *, today: dt.date | None = None
) -> VerificationRequest:
    """Check the non-identifier parameters of a verification request (``reqGLN``,
    ``corrUUID``, ``context``, ``linkType``) and the identifier's fields."""
    gtin = normalize_gtin(identifier.gtin, "gtin")
    serial = validate_serial(identifier.serial, "serial")
    lot = validate_lot(identifier.lot, "lot") if identifier.lot is not None else None
    expiry = (
        validate_yymmdd(identifier.expiry, "expiry", today=today)
        if identifier.expiry is not None
        else None
    )
    req_gln = _one(params, "reqGLN", required=True)
    assert req_gln is not None
    validate_gln(req_gln, "reqGLN")
    corr = _one(params, "corrUUID", required=True)
    assert corr is not None
    corr = validate_correlation_id(corr)
    context = _one(params, "context", required=True)
    assert context is not None
    if not _CONTEXT.fullmatch(context):
        raise ValidationError("context", "must be a token of letters, digits and _.:- (≤ 64)")
    link_type = _one(params, "linkType", required=False)
    if link_type is not None and link_type not in LINK_TYPES:
        raise ValidationError("linkType", f"must be one of {', '.join(sorted(LINK_TYPES))}")
    return VerificationRequest(
        ProductIdentifier(gtin, serial, lot, expiry), req_gln, corr, context, link_type
    )
