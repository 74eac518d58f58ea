from __future__ import annotations

from line_bridge.decision import decide
from serialtrace.gs1.element_string import encode_unit

PAYLOAD = encode_unit("00312345678906", "100000000001", "A1B2", "280229").payload


def test_exact_payload_at_threshold_passes() -> None:
    verdict = decide(PAYLOAD, PAYLOAD, True, 1.5, 1.5, set())
    assert verdict.passed and verdict.cause is None
    assert verdict.decoded_serial == "100000000001"


def test_nothing_decoded_is_unreadable() -> None:
    assert decide(PAYLOAD, None, False, 0.0, 1.5, set()).cause == "unreadable"
    assert decide(PAYLOAD, PAYLOAD, False, 4.0, 1.5, set()).cause == "unreadable"


def test_other_data_is_wrong_data() -> None:
    other = encode_unit("00312345678906", "100000000002", "A1B2", "280229").payload
    verdict = decide(PAYLOAD, other, True, 4.0, 1.5, set())
    assert verdict.cause == "wrong_data" and verdict.decoded_serial == "100000000002"


def test_garbage_is_wrong_data_without_serial() -> None:
    verdict = decide(PAYLOAD, "not a gs1 code", True, 4.0, 1.5, set())
    assert verdict.cause == "wrong_data" and verdict.decoded_serial is None


def test_below_threshold_is_low_grade() -> None:
    assert decide(PAYLOAD, PAYLOAD, True, 1.0, 1.5, set()).cause == "low_grade"
    assert decide(PAYLOAD, PAYLOAD, True, None, 1.5, set()).cause == "low_grade"


def test_serial_that_already_passed_is_duplicate() -> None:
    verdict = decide(PAYLOAD, PAYLOAD, True, 4.0, 1.5, {"100000000001"})
    assert verdict.cause == "duplicate" and not verdict.passed
