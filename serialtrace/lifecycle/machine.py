"""The serial status state machine shared by every stage. Pure: no I/O.

A serial is *allocated* to a work order (its lot, expiry and work order are bound then and
never change), *printed* on the line, *commissioned* when the camera passes it,
*aggregated* while it is packed in a case, *shipped*, *received* by the next party and
finally *dispensed* to a patient, unless it is *decommissioned* with a reason before.

The table below is the only definition of what may follow what; the warehouse replays
lifecycle events through the same table (``transitions.csv`` seed, generated from
:func:`transition_rows` and checked by a test), the CLI checks every request with
:func:`check_transition`. docs/lifecycle.md explains the choices.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from serialtrace.errors import SerialtraceError, ValidationError


class Status(StrEnum):
    """Where a serial stands. The values are the words stored in Parquet and DuckDB."""

    ALLOCATED = "allocated"
    PRINTED = "printed"
    COMMISSIONED = "commissioned"
    AGGREGATED = "aggregated"
    SHIPPED = "shipped"
    RECEIVED = "received"
    DISPENSED = "dispensed"
    DECOMMISSIONED = "decommissioned"


class Reason(StrEnum):
    """Why a serial was decommissioned (``to_state`` = decommissioned needs one)."""

    REJECTED_AT_LINE = "rejected_at_line"
    DESTROYED = "destroyed"
    SAMPLE = "sample"
    STOLEN = "stolen"
    RECALLED = "recalled"
    RETURNED = "returned"
    EXPIRED = "expired"
    EXPORTED = "exported"
    UNUSED_AT_BATCH_CLOSE = "unused_at_batch_close"


#: States of product in circulation: anything post-line may happen to them.
ACTIVE: Final[frozenset[Status]] = frozenset(
    {Status.COMMISSIONED, Status.AGGREGATED, Status.SHIPPED, Status.RECEIVED}
)
#: States nothing can leave (see docs/lifecycle.md, "Why decommissioned is terminal").
TERMINAL: Final[frozenset[Status]] = frozenset({Status.DISPENSED, Status.DECOMMISSIONED})

#: Reasons a user may give after the line (`serialtrace serials decommission --reason`).
POST_LINE_REASONS: Final[frozenset[Reason]] = frozenset(
    {
        Reason.DESTROYED,
        Reason.SAMPLE,
        Reason.STOLEN,
        Reason.RECALLED,
        Reason.RETURNED,
        Reason.EXPIRED,
        Reason.EXPORTED,
    }
)
#: A product can only come back (be returned) after it left our hands.
_IN_OUR_HANDS = POST_LINE_REASONS - {Reason.RETURNED}

#: (from, to) -> reasons allowed; an empty set means "no reason" (reason must be None).
TRANSITIONS: Final[dict[tuple[Status, Status], frozenset[Reason]]] = {
    # the line
    (Status.ALLOCATED, Status.PRINTED): frozenset(),
    (Status.PRINTED, Status.COMMISSIONED): frozenset(),
    (Status.COMMISSIONED, Status.AGGREGATED): frozenset(),
    (Status.AGGREGATED, Status.COMMISSIONED): frozenset(),  # disaggregation (rework, unpack)
    # the supply chain
    (Status.COMMISSIONED, Status.SHIPPED): frozenset(),
    (Status.AGGREGATED, Status.SHIPPED): frozenset(),  # shipped inside its case / pallet
    (Status.SHIPPED, Status.RECEIVED): frozenset(),  # also a saleable return coming back
    (Status.RECEIVED, Status.SHIPPED): frozenset(),  # onward (wholesaler to pharmacy)
    (Status.RECEIVED, Status.DISPENSED): frozenset(),
    # out of circulation, for good
    (Status.ALLOCATED, Status.DECOMMISSIONED): frozenset({Reason.UNUSED_AT_BATCH_CLOSE}),
    (Status.PRINTED, Status.DECOMMISSIONED): frozenset({Reason.REJECTED_AT_LINE}),
    (Status.COMMISSIONED, Status.DECOMMISSIONED): _IN_OUR_HANDS,
    (Status.AGGREGATED, Status.DECOMMISSIONED): _IN_OUR_HANDS,
    (Status.SHIPPED, Status.DECOMMISSIONED): POST_LINE_REASONS,
    (Status.RECEIVED, Status.DECOMMISSIONED): POST_LINE_REASONS,
}


class IllegalTransitionError(SerialtraceError):
    """A status change the state machine refuses; names the serial and both states."""

    def __init__(
        self, serial: str, from_state: str, to_state: str, reason: str | None, rule: str
    ) -> None:
        self.serial = serial
        self.from_state = from_state
        self.to_state = to_state
        self.reason = reason
        self.rule = rule
        change = f"{from_state} -> {to_state}"
        if reason is not None:
            change += f" ({reason})"
        super().__init__(f"serial {serial}: {change} refused: {rule}")


def check_transition(
    serial: str, from_state: str, to_state: str, reason: str | None = None
) -> tuple[Status, Status, Reason | None]:
    """Refuse an illegal status change with :class:`IllegalTransitionError`.

    ``serial`` is any label of the serial (e.g. ``(01)<GTIN>(21)<serial>``) used in the
    message. Returns the parsed ``(from, to, reason)`` when the change is legal.
    """
    known_states = {s.value for s in Status}
    for value in (from_state, to_state):
        if value not in known_states:
            raise IllegalTransitionError(
                serial,
                from_state,
                to_state,
                reason,
                f"unknown state {value!r} (known: {', '.join(s.value for s in Status)})",
            )
    source, target = Status(from_state), Status(to_state)
    parsed: Reason | None = None
    if reason is not None:
        try:
            parsed = Reason(reason)
        except ValueError:
            known = ", ".join(r.value for r in Reason)
            raise IllegalTransitionError(
                serial, from_state, to_state, reason, f"unknown reason {reason!r} (known: {known})"
            ) from None
    allowed = TRANSITIONS.get((source, target))
    if allowed is None:
        if source in TERMINAL:
            rule = f"{source.value} is final"
        elif source == target:
            rule = f"the serial is already {source.value}"
        else:
            targets = ", ".join(t.value for t in allowed_targets(source))
            rule = f"from {source.value} only {targets}"
        raise IllegalTransitionError(serial, from_state, to_state, reason, rule)
    if allowed and parsed is None:
        rule = f"give a reason, one of {', '.join(sorted(r.value for r in allowed))}"
        raise IllegalTransitionError(serial, from_state, to_state, reason, rule)
    if not allowed and parsed is not None:
        raise IllegalTransitionError(serial, from_state, to_state, reason, "takes no reason")
    if parsed is not None and parsed not in allowed:
        rule = f"reason allowed from {source.value}: {', '.join(sorted(r.value for r in allowed))}"
        raise IllegalTransitionError(serial, from_state, to_state, reason, rule)
    return source, target, parsed


def is_legal(from_state: str, to_state: str, reason: str | None = None) -> bool:
    try:
        check_transition("-", from_state, to_state, reason)
    except IllegalTransitionError:
        return False
    return True


def allowed_targets(from_state: str) -> tuple[Status, ...]:
    """The states reachable in one step, in declaration order."""
    return tuple(target for (source, target) in TRANSITIONS if source == from_state)


def allowed_reasons(from_state: str, to_state: str = Status.DECOMMISSIONED) -> frozenset[Reason]:
    return TRANSITIONS.get((Status(from_state), Status(to_state)), frozenset())


def transition_rows() -> Iterator[tuple[str, str, str | None]]:
    """Every legal ``(from, to, reason)``, sorted: the content of the dbt seed."""
    rows: list[tuple[str, str, str | None]] = []
    for (source, target), reasons in TRANSITIONS.items():
        if reasons:
            rows.extend((source.value, target.value, r.value) for r in reasons)
        else:
            rows.append((source.value, target.value, None))
    yield from sorted(rows, key=lambda row: (row[0], row[1], row[2] or ""))


def replay(
    serial: str, start: str, changes: Iterable[tuple[str, str | None]]
) -> tuple[Status, Reason | None]:
    """Apply ``(to_state, reason)`` changes in order from ``start``; the first illegal one
    raises. Returns the final status and the reason of the last change."""
    state, last_reason = Status(start), None
    for to_state, reason in changes:
        state, last_reason = check_transition(serial, state, to_state, reason)[1:]
    return state, last_reason


@dataclass(frozen=True, slots=True)
class Binding:
    """What allocation binds to a serial for life: lot, expiry and batch record."""

    gtin: str
    serial: str
    lot: str
    expiry: date
    work_order_id: str


def check_binding(bound: Binding, observed: Binding) -> None:
    """Refuse a record that tells a different lot, expiry or work order than allocation did."""
    label = f"(01){bound.gtin}(21){bound.serial}"
    if (observed.gtin, observed.serial) != (bound.gtin, bound.serial):
        raise ValidationError("serial", f"{label}: compared with another serial")
    for name in ("lot", "expiry", "work_order_id"):
        was, now = getattr(bound, name), getattr(observed, name)
        if was != now:
            raise ValidationError(
                name, f"{label} was allocated with {name} {was}, cannot change to {now}"
            )


def unit_label(gtin: str, serial: str) -> str:
    """The key used everywhere for a unit: ``(01)<GTIN>(21)<serial>``."""
    return f"(01){gtin}(21){serial}"
