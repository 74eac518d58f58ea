from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.locks import QuarantineLocks, container_key, item_key

GTIN = "00312345678906"
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_keys_are_element_strings() -> None:
    assert item_key(GTIN, "A1") == "(01)00312345678906(21)A1"
    assert container_key("003123450000000017") == "(00)003123450000000017"
    with pytest.raises(ValueError, match="14 digits"):
        item_key("123", "A1")
    with pytest.raises(ValueError, match="18 digits"):
        container_key("12")


def test_lock_release_and_history(tmp_path: Path) -> None:
    locks = QuarantineLocks(tmp_path / "alerts.sqlite")
    a, b = item_key(GTIN, "1"), item_key(GTIN, "2")
    assert locks.lock("CASE-1", [a, b, a], reason="not found", user="qa", at=T0) == 2
    assert locks.lock("CASE-1", [a], reason="not found", user="qa", at=T0) == 0
    assert locks.case_for(a) == "CASE-1"
    assert locks.case_for(item_key(GTIN, "3")) is None
    # a second case on the same pack: the oldest open case is the one named
    locks.lock("CASE-2", [a], reason="partner report", user="qa", at=T0 + timedelta(hours=1))
    assert locks.case_for(a) == "CASE-1"
    assert locks.release("CASE-1", user="head-qa", at=T0 + timedelta(hours=2)) == 2
    assert locks.case_for(a) == "CASE-2"
    assert locks.case_for(b) is None
    assert [lk.case_id for lk in locks.all_active()] == ["CASE-2"]
    # released rows stay: the history is kept
    reopened = QuarantineLocks(tmp_path / "alerts.sqlite")
    assert reopened.release("CASE-1", user="x") == 0


def test_naive_time_refused(tmp_path: Path) -> None:
    locks = QuarantineLocks(tmp_path / "a.sqlite")
    with pytest.raises(ValueError, match="timezone"):
        locks.lock("C", [item_key(GTIN, "1")], reason="r", user="u", at=datetime(2026, 1, 1))
