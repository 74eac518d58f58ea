"""Status changes mapped to EPCIS 1.2 / CBV 1.2 words. Pure: no I/O.

Every word here is a CBV 1.2 bare word (the EPCIS writer adds the URN prefix). CBV 2.0-only
words (``sampling``, ``available`` …) are never used: Serialtrace writes EPCIS 1.2. The
choices follow identifiers-verification-brief §9 and epcis-dscsa-brief §4; docs/lifecycle.md
gives the reasons where they differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from serialtrace.lifecycle.machine import Reason, Status


@dataclass(frozen=True, slots=True)
class CbvMapping:
    """How one status change is told in EPCIS: an ObjectEvent (or AggregationEvent for
    packing) with ``action``, ``biz_step`` and ``disposition``. ``emitted`` is False when
    no event is sent (the serial never became a commissioned EPC)."""

    biz_step: str
    disposition: str
    action: str
    emitted: bool = True


#: Decommissioning reasons -> EPCIS. All are ``DELETE``: the serial leaves circulation and
#: is never reused. The reason itself travels as ``<st:reason>`` in the event.
DECOMMISSION_CBV: Final[dict[Reason, CbvMapping]] = {
    Reason.REJECTED_AT_LINE: CbvMapping("decommissioning", "inactive", "DELETE"),
    Reason.DESTROYED: CbvMapping("destroying", "destroyed", "DELETE"),
    # CBV 2.0 has bizStep `sampling`; it does not exist in CBV 1.2, so a sample is a plain
    # decommissioning with disposition inactive (the reason says 'sample').
    Reason.SAMPLE: CbvMapping("decommissioning", "inactive", "DELETE"),
    Reason.STOLEN: CbvMapping("decommissioning", "stolen", "DELETE"),
    # brief §9 tells a recall *status* as holding/recalled (OBSERVE); retiring a recalled
    # serial for good is a decommissioning whose disposition keeps the word `recalled`.
    Reason.RECALLED: CbvMapping("decommissioning", "recalled", "DELETE"),
    Reason.RETURNED: CbvMapping("decommissioning", "returned", "DELETE"),
    Reason.EXPIRED: CbvMapping("decommissioning", "expired", "DELETE"),
    # brief §9 tells the export shipment as shipping/in_transit; the serial leaving the
    # market for good is a decommissioning, disposition inactive.
    Reason.EXPORTED: CbvMapping("decommissioning", "inactive", "DELETE"),
    # never printed, so never commissioned in EPCIS: nothing to tell a partner. The
    # mapping says what it would be if a partner asked for it.
    Reason.UNUSED_AT_BATCH_CLOSE: CbvMapping("decommissioning", "inactive", "DELETE", False),
}

#: Other status changes -> EPCIS (the target status decides; ``None``: no event).
STATUS_CBV: Final[dict[Status, CbvMapping | None]] = {
    Status.ALLOCATED: None,
    Status.PRINTED: None,  # some line systems send encoding/encoded; Serialtrace does not
    Status.COMMISSIONED: CbvMapping("commissioning", "active", "ADD"),
    Status.AGGREGATED: CbvMapping("packing", "in_progress", "ADD"),  # AggregationEvent
    Status.SHIPPED: CbvMapping("shipping", "in_transit", "OBSERVE"),
    Status.RECEIVED: CbvMapping("receiving", "in_progress", "OBSERVE"),
    Status.DISPENSED: CbvMapping("dispensing", "dispensed", "OBSERVE"),
}

#: Disaggregation (aggregated -> commissioned) is an AggregationEvent DELETE.
UNPACKING: Final[CbvMapping] = CbvMapping("unpacking", "in_progress", "DELETE")


def cbv_for(from_state: str, to_state: str, reason: str | None = None) -> CbvMapping | None:
    """The EPCIS words of one (legal) status change, or None when no event is emitted."""
    target = Status(to_state)
    if target == Status.DECOMMISSIONED:
        if reason is None:
            raise ValueError("a decommissioning needs its reason")
        return DECOMMISSION_CBV[Reason(reason)]
    if Status(from_state) == Status.AGGREGATED and target == Status.COMMISSIONED:
        return UNPACKING
    return STATUS_CBV[target]
