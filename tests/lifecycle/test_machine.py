"""The state machine: every (from, to, reason) against a table written out by hand,
messages, random transition sequences, the CBV mapping and the dbt seed."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epcis.model import (
    CBV12_BIZSTEPS,
    CBV12_DISPOSITIONS,
    CBV20_ONLY_BIZSTEPS,
    CBV20_ONLY_DISPOSITIONS,
    ObjectEvent,
)
from serialtrace.errors import SerialtraceError, ValidationError
from serialtrace.lifecycle import (
    ACTIVE,
    DECOMMISSION_CBV,
    POST_LINE_REASONS,
    STATUS_CBV,
    TERMINAL,
    Binding,
    IllegalTransitionError,
    Reason,
    Status,
    allowed_targets,
    cbv_for,
    check_binding,
    check_transition,
    is_legal,
    replay,
    transition_rows,
)
from serialtrace.lifecycle.seed import SEED_PATH, render_seed

SERIAL = "(01)00614141000012(21)A0000001"
POST = {"destroyed", "sample", "stolen", "recalled", "expired", "exported"}

#: The expected table, written out independently of serialtrace/lifecycle/machine.py.
EXPECTED: set[tuple[str, str, str | None]] = {
    ("allocated", "printed", None),
    ("printed", "commissioned", None),
    ("commissioned", "aggregated", None),
    ("aggregated", "commissioned", None),
    ("commissioned", "shipped", None),
    ("aggregated", "shipped", None),
    ("shipped", "received", None),
    ("received", "shipped", None),
    ("received", "dispensed", None),
    ("allocated", "decommissioned", "unused_at_batch_close"),
    ("printed", "decommissioned", "rejected_at_line"),
    *(("commissioned", "decommissioned", r) for r in POST),
    *(("aggregated", "decommissioned", r) for r in POST),
    *(("shipped", "decommissioned", r) for r in POST | {"returned"}),
    *(("received", "decommissioned", r) for r in POST | {"returned"}),
}
STATES = [s.value for s in Status]
REASONS: list[str | None] = [None, *(r.value for r in Reason)]


@pytest.mark.parametrize(
    ("source", "target", "reason"), list(itertools.product(STATES, STATES, REASONS))
)
def test_every_combination_matches_the_table(source: str, target: str, reason: str | None) -> None:
    legal = (source, target, reason) in EXPECTED
    assert is_legal(source, target, reason) is legal
    if legal:
        assert check_transition(SERIAL, source, target, reason) == (
            Status(source),
            Status(target),
            None if reason is None else Reason(reason),
        )
    else:
        with pytest.raises(IllegalTransitionError) as caught:
            check_transition(SERIAL, source, target, reason)
        message = str(caught.value)
        assert SERIAL in message and f"{source} -> {target}" in message
        assert (caught.value.serial, caught.value.from_state, caught.value.to_state) == (
            SERIAL,
            source,
            target,
        )


def test_transition_rows_are_the_table() -> None:
    assert set(transition_rows()) == EXPECTED
    rows = list(transition_rows())
    assert rows == sorted(rows, key=lambda r: (r[0], r[1], r[2] or ""))


def test_the_dbt_seed_is_generated_from_the_table() -> None:
    assert SEED_PATH.read_text() == render_seed(), "run python -m serialtrace.lifecycle.seed"


def test_error_is_a_serialtrace_error_with_a_useful_rule() -> None:
    assert issubclass(IllegalTransitionError, SerialtraceError)
    cases = {
        ("decommissioned", "commissioned", None): "decommissioned is final",
        ("dispensed", "received", None): "dispensed is final",
        ("aggregated", "aggregated", None): "already aggregated",
        ("aggregated", "decommissioned", None): "give a reason, one of destroyed",
        ("aggregated", "decommissioned", "returned"): "reason allowed from aggregated",
        ("allocated", "printed", "destroyed"): "takes no reason",
        ("aggregated", "dispensed", None): "from aggregated only commissioned, shipped",
        ("aggregated", "lost", None): "unknown state 'lost'",
        ("aggregated", "decommissioned", "lost"): "unknown reason 'lost'",
    }
    for (source, target, reason), rule in cases.items():
        with pytest.raises(IllegalTransitionError, match=rule) as caught:
            check_transition(SERIAL, source, target, reason)
        assert str(caught.value).startswith(f"serial {SERIAL}: {source} -> {target}")


def test_state_groups() -> None:
    assert {s.value for s in ACTIVE} == {"commissioned", "aggregated", "shipped", "received"}
    assert {s.value for s in TERMINAL} == {"dispensed", "decommissioned"}
    for state in TERMINAL:
        assert allowed_targets(state) == ()
    assert {r.value for r in POST_LINE_REASONS} == POST | {"returned"}


# --- random sequences -------------------------------------------------------------------

steps = st.lists(
    st.tuples(st.sampled_from(STATES), st.sampled_from(REASONS)), min_size=1, max_size=30
)


@settings(max_examples=400, deadline=None)
@given(start=st.sampled_from(STATES), changes=steps)
def test_random_sequences_follow_the_table(
    start: str, changes: list[tuple[str, str | None]]
) -> None:
    """Apply random changes, keeping the legal ones: the state only ever moves along the
    table, a final state is never left, and replay() agrees with step-by-step checks."""
    state = start
    accepted: list[tuple[str, str | None]] = []
    for target, reason in changes:
        try:
            check_transition(SERIAL, state, target, reason)
        except IllegalTransitionError as exc:
            assert (state, target, reason) not in EXPECTED
            assert exc.from_state == state and exc.to_state == target
            continue
        assert (state, target, reason) in EXPECTED
        assert state not in ("decommissioned", "dispensed")
        state = target
        accepted.append((target, reason))
    final, _ = replay(SERIAL, start, accepted)
    assert final == state


@settings(max_examples=300, deadline=None)
@given(changes=steps)
def test_from_allocation_nothing_is_commissioned_unprinted(
    changes: list[tuple[str, str | None]],
) -> None:
    """Walking from 'allocated', the path always passes printed before commissioned, and
    a serial never printed can only be retired as unused at batch close."""
    state, seen = "allocated", ["allocated"]
    for target, reason in changes:
        if is_legal(state, target, reason):
            if target == "decommissioned" and "printed" not in seen:
                assert reason == "unused_at_batch_close"
            state = target
            seen.append(state)
    if "commissioned" in seen:
        assert seen.index("printed") < seen.index("commissioned")


def test_replay_stops_at_the_first_illegal_change() -> None:
    assert replay(SERIAL, "allocated", [("printed", None), ("commissioned", None)]) == (
        Status.COMMISSIONED,
        None,
    )
    with pytest.raises(IllegalTransitionError, match="decommissioned is final"):
        replay(SERIAL, "aggregated", [("decommissioned", "stolen"), ("shipped", None)])


# --- EPCIS words ------------------------------------------------------------------------


def test_every_reason_has_a_cbv12_mapping() -> None:
    assert set(DECOMMISSION_CBV) == set(Reason)
    for reason, words in DECOMMISSION_CBV.items():
        assert words.biz_step in CBV12_BIZSTEPS, reason
        assert words.disposition in CBV12_DISPOSITIONS, reason
        assert words.biz_step not in CBV20_ONLY_BIZSTEPS  # never 'sampling' in 1.2
        assert words.disposition not in CBV20_ONLY_DISPOSITIONS
        assert words.action == "DELETE"
    for status, mapping in STATUS_CBV.items():
        if mapping is not None:
            assert mapping.biz_step in CBV12_BIZSTEPS, status
            assert mapping.disposition in CBV12_DISPOSITIONS, status


def test_the_mapping_of_each_reason() -> None:
    table = {r.value: (m.biz_step, m.disposition, m.emitted) for r, m in DECOMMISSION_CBV.items()}
    assert table == {
        "rejected_at_line": ("decommissioning", "inactive", True),
        "destroyed": ("destroying", "destroyed", True),
        "sample": ("decommissioning", "inactive", True),
        "stolen": ("decommissioning", "stolen", True),
        "recalled": ("decommissioning", "recalled", True),
        "returned": ("decommissioning", "returned", True),
        "expired": ("decommissioning", "expired", True),
        "exported": ("decommissioning", "inactive", True),
        "unused_at_batch_close": ("decommissioning", "inactive", False),
    }


def test_cbv_for_every_legal_change_builds_an_epcis_12_event() -> None:
    for source, target, reason in EXPECTED:
        words = cbv_for(source, target, reason)
        if words is None:
            assert target in ("printed",)
            continue
        if (source, target) == ("aggregated", "commissioned"):
            assert (words.biz_step, words.action) == ("unpacking", "DELETE")
            continue
        ObjectEvent(  # the EPCIS model refuses any word that is not CBV 1.2
            event_time=datetime(2025, 3, 5, tzinfo=UTC),
            action=words.action,
            biz_step=words.biz_step,
            disposition=words.disposition,
            epcs=("urn:epc:id:sgtin:0614141.000001.A1",),
            read_point=None,
            biz_location=None,
        )
    with pytest.raises(ValueError):
        cbv_for("aggregated", "decommissioned")


# --- binding ----------------------------------------------------------------------------


def test_lot_expiry_and_work_order_are_bound_at_allocation() -> None:
    bound = Binding("00614141000012", "A1", "LA001", date(2027, 2, 28), "WO-1")
    check_binding(bound, bound)
    changes: list[tuple[dict[str, object], str]] = [
        ({"lot": "LA002"}, "lot"),
        ({"expiry": date(2027, 3, 31)}, "expiry"),
        ({"work_order_id": "WO-2"}, "work_order_id"),
    ]
    for change, field in changes:
        with pytest.raises(ValidationError) as caught:
            check_binding(bound, replace(bound, **change))  # type: ignore[arg-type]
        assert caught.value.field == field
        assert "(01)00614141000012(21)A1" in str(caught.value)
