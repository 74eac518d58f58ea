from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import pytest

from line_bridge.aggregation import Aggregator

AT = datetime(2026, 11, 25, tzinfo=UTC)


def _aggregator(case_size: int, pallet_size: int) -> Aggregator:
    numbers = count(1)
    return Aggregator(case_size, pallet_size, lambda level: f"{level}-{next(numbers)}")


def test_full_cases_and_pallets_then_partials_at_batch_end() -> None:
    agg = _aggregator(case_size=3, pallet_size=2)
    rows = []
    for i in range(14):  # 4 full cases (2 full pallets) + a partial case of 2
        rows += agg.add_item("00312345678906", f"S{i}", AT)
    assert agg.cases_closed == 4 and agg.pallets_closed == 2
    rows += agg.finish(AT)
    assert agg.cases_closed == 5 and agg.pallets_closed == 3
    items = [r for r in rows if r["child_level"] == "item"]
    cases = [r for r in rows if r["child_level"] == "case"]
    assert len(items) == 14 and len(cases) == 5
    assert {r["child_serial"] for r in items} == {f"S{i}" for i in range(14)}
    partial = [r for r in rows if not r["parent_full"]]
    assert {r["parent_level"] for r in partial} == {"case", "pallet"}
    assert len([r for r in partial if r["parent_level"] == "case"]) == 2
    # every case is inside exactly one pallet
    assert len({r["child_sscc"] for r in cases}) == 5


def test_finish_with_nothing_open_emits_nothing() -> None:
    agg = _aggregator(2, 2)
    for i in range(4):
        agg.add_item("g", f"S{i}", AT)
    assert agg.finish(AT) == []


def test_sizes_must_be_positive() -> None:
    with pytest.raises(ValueError):
        _aggregator(0, 1)


def test_restore_closes_the_case_a_killed_run_had_filled() -> None:
    """Killed between journaling the 3rd item's pass and journaling its case: the restart
    finds 3 passed items in no case. It closes that case at once (and the pallet it
    filled), so the next item starts a new case and no case ever holds more than 3."""
    agg = _aggregator(case_size=3, pallet_size=2)
    rows = agg.restore(
        [("g", "S1"), ("g", "S2"), ("g", "S3")],
        ["case-0"],
        cases_closed=1,
        pallets_closed=0,
        at=AT,
    )
    assert [r["child_serial"] for r in rows if r["child_level"] == "item"] == ["S1", "S2", "S3"]
    assert [r["child_sscc"] for r in rows if r["child_level"] == "case"] == ["case-0", "case-1"]
    assert (agg.cases_closed, agg.pallets_closed) == (2, 1)
    later = agg.add_item("g", "S4", AT) + agg.finish(AT)
    items = [r for r in later if r["child_level"] == "item"]
    assert [r["child_serial"] for r in items] == ["S4"] and not items[0]["parent_full"]


def test_restore_with_a_partial_case_closes_nothing() -> None:
    agg = _aggregator(case_size=3, pallet_size=2)
    assert agg.restore([("g", "S1")], [], cases_closed=0, pallets_closed=0, at=AT) == []
    rows = agg.add_item("g", "S2", AT) + agg.add_item("g", "S3", AT)
    assert [r["child_serial"] for r in rows if r["child_level"] == "item"] == ["S1", "S2", "S3"]
