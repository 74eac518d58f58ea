"""EU FMD: pack data upload content for the EU Hub and pack status updates, per market.

Serialtrace's upload format (``serialtrace-fmd/1``, JSON, one message per market) carries
the content the Delegated Regulation (EU) 2016/161 and EMVO's on-boarding material name:
product master data, batch data with its serial list, and pack status changes. EMVO's OBP
interface specification (the Hub's own SOAP/XML wire format) is not public; a market
endpoint (``role = "hub"`` partner with ``market = "<member state>"``) receives this JSON
over the partner's transport, through the delivery ledger like every other file. The
message types, fields and rules are documented in docs/partners.md.

Pure builders (:func:`product_master`, :func:`batch_upload`, :func:`pack_status_update`)
check every field and raise a ValidationError naming it; :func:`write_fmd_message` places
a message in ``<outbox>/<market partner id>/`` for delivery.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from partners.config import Partner
from serialtrace.errors import ValidationError
from serialtrace.gs1.charset import validate_lot, validate_serial
from serialtrace.gs1.keys import normalize_gtin
from serialtrace.settings import Home

FORMAT = "serialtrace-fmd/1"
# EMVS pack states a status update may set (decommissioned states) or undo to (Active)
PACK_STATES = (
    "ACTIVE",
    "SUPPLIED",
    "DESTROYED",
    "EXPORTED",
    "STOLEN",
    "SAMPLE",
    "FREE_SAMPLE",
    "LOCKED",
    "CHECKED_OUT",
)
MAX_SERIALS_PER_MESSAGE = 100_000


@dataclass(frozen=True)
class FmdProduct:
    product_code: str  # GTIN-14
    name: str
    common_name: str
    pharmaceutical_form: str
    strength: str
    pack_type: str
    pack_size: str
    mah_id: str
    mah_name: str
    national_code: str = ""  # NHRN where the member state needs one outside the GTIN
    atc_codes: tuple[str, ...] = ()


def _required(value: str, field: str) -> str:
    if not value or not value.strip():
        raise ValidationError(field, "is required (EU Hub master data)")
    return value


def _member_state(market: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", market):
        raise ValidationError("market", f"must be an ISO 3166 alpha-2 member state, got {market!r}")
    return market


def _header(kind: str, market: str, message_id: str, created: datetime) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "messageType": kind,
        "messageId": message_id,
        "market": _member_state(market),
        "createdAt": created.astimezone(UTC).isoformat(timespec="seconds"),
    }


def product_master(
    product: FmdProduct, market: str, message_id: str, created: datetime
) -> dict[str, Any]:
    """Product master data for one market (common data + the market's MAH and code)."""
    message = _header("ProductMasterData", market, message_id, created)
    message["product"] = {
        "productCode": normalize_gtin(product.product_code, "product.productCode"),
        "codingScheme": "GS1",
        "name": _required(product.name, "product.name"),
        "commonName": _required(product.common_name, "product.commonName"),
        "pharmaceuticalForm": _required(product.pharmaceutical_form, "product.pharmaceuticalForm"),
        "strength": _required(product.strength, "product.strength"),
        "packType": _required(product.pack_type, "product.packType"),
        "packSize": _required(product.pack_size, "product.packSize"),
        "atcCodes": list(product.atc_codes),
    }
    message["marketData"] = {
        "memberState": market,
        "nationalCode": product.national_code or None,
        "mah": {
            "id": _required(product.mah_id, "product.mah.id"),
            "name": _required(product.mah_name, "product.mah.name"),
        },
    }
    return message


def batch_upload(
    product_code: str,
    batch_id: str,
    expiry: date,
    serials: Sequence[str],
    market: str,
    message_id: str,
    created: datetime,
) -> dict[str, Any]:
    """Batch data with its serial list (every serial once, CSET 82, at most 20 chars)."""
    if not serials:
        raise ValidationError("batch.serialNumbers", "must list at least one serial")
    if len(serials) > MAX_SERIALS_PER_MESSAGE:
        raise ValidationError(
            "batch.serialNumbers", f"at most {MAX_SERIALS_PER_MESSAGE:,} per message"
        )
    seen: set[str] = set()
    for index, serial in enumerate(serials):
        validate_serial(serial, f"batch.serialNumbers[{index}]")
        if serial in seen:
            raise ValidationError(f"batch.serialNumbers[{index}]", f"duplicate serial {serial}")
        seen.add(serial)
    message = _header("BatchPackData", market, message_id, created)
    message["batch"] = {
        "productCode": normalize_gtin(product_code, "batch.productCode"),
        "batchId": validate_lot(batch_id, "batch.batchId"),
        "expiryDate": expiry.isoformat(),
        "serialNumbers": list(serials),
    }
    return message


def pack_status_update(
    product_code: str,
    batch_id: str,
    expiry: date,
    updates: Sequence[tuple[str, str]],
    market: str,
    message_id: str,
    created: datetime,
) -> dict[str, Any]:
    """Pack state changes: (serial, new state) pairs, states from :data:`PACK_STATES`."""
    if not updates:
        raise ValidationError("packs", "must list at least one pack")
    packs = []
    for index, (serial, state) in enumerate(updates):
        validate_serial(serial, f"packs[{index}].serialNumber")
        if state not in PACK_STATES:
            raise ValidationError(
                f"packs[{index}].state", f"must be one of {', '.join(PACK_STATES)}, got {state!r}"
            )
        packs.append({"serialNumber": serial, "state": state})
    message = _header("PackStatusUpdate", market, message_id, created)
    message["productCode"] = normalize_gtin(product_code, "productCode")
    message["batchId"] = validate_lot(batch_id, "batchId")
    message["expiryDate"] = expiry.isoformat()
    message["packs"] = packs
    return message


def write_fmd_message(home: Home, market_partner: Partner, message: dict[str, Any]) -> Path:
    """Place a message in the market endpoint's outbox folder (atomic write). A message
    ID already in the folder is kept as it is (re-running an upload sends nothing new)."""
    if market_partner.role != "hub" or market_partner.market != message["market"]:
        raise ValidationError(
            "market",
            f"partner {market_partner.id} serves market {market_partner.market or 'none'},"
            f" not {message['market']}",
        )
    folder = home.epcis_outbox / market_partner.id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{message['messageType']}-{message['messageId']}.json"
    if path.exists():  # the same message ID was produced before: never a second version
        return path
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_text(json.dumps(message, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path)
    return path
