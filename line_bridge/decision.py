"""The pass / reject decision for one camera result. Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass

from serialtrace.errors import ValidationError
from serialtrace.gs1.element_string import parse


@dataclass(frozen=True, slots=True)
class Decision:
    passed: bool
    cause: str | None  # one of line_bridge.schemas.REJECT_CAUSES when not passed
    decoded_serial: str | None


def decide(
    expected_payload: str,
    decoded: str | None,
    readable: bool,
    grade_value: float | None,
    grade_threshold: float,
    passed_serials: set[str],
) -> Decision:
    """A unit passes only if the camera read exactly what was sent, at or above the grade.

    Causes, in order: ``unreadable`` (nothing decoded), ``duplicate`` (decoded a serial
    that already passed), ``wrong_data`` (decoded something else), ``low_grade``.
    """
    if decoded is None or not readable:
        return Decision(False, "unreadable", None)
    try:
        decoded_serial = parse(decoded).serial
    except ValidationError:
        decoded_serial = None
    if decoded_serial is not None and decoded_serial in passed_serials:
        return Decision(False, "duplicate", decoded_serial)
    if decoded != expected_payload:
        return Decision(False, "wrong_data", decoded_serial)
    if grade_value is None or grade_value < grade_threshold:
        return Decision(False, "low_grade", decoded_serial)
    return Decision(True, None, decoded_serial)


def decide_case(
    sscc: str, decoded: str | None, readable: bool, grade_value: float | None, threshold: float
) -> str | None:
    """The case camera's verdict on a case label: None (pass) only if it read exactly
    ``00<SSCC>`` at or above the grade; else the cause: ``unreadable``, ``wrong_data``
    (another code: a label for another case), ``low_grade``."""
    if decoded is None or not readable:
        return "unreadable"
    if decoded != f"00{sscc}":
        return "wrong_data"
    if grade_value is None or grade_value < threshold:
        return "low_grade"
    return None
