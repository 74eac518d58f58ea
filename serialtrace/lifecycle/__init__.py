"""Serial lifecycle: the one status state machine, decommission reasons and their EPCIS words.

The pure parts (:mod:`~serialtrace.lifecycle.machine`, :mod:`~serialtrace.lifecycle.cbv`,
:mod:`~serialtrace.lifecycle.schema`) do no I/O; :mod:`~serialtrace.lifecycle.store`,
:mod:`~serialtrace.lifecycle.batch_close`, :mod:`~serialtrace.lifecycle.decommission` and
:mod:`~serialtrace.lifecycle.cli` are the adapters. See docs/lifecycle.md.
"""

from __future__ import annotations

from serialtrace.lifecycle.cbv import DECOMMISSION_CBV, STATUS_CBV, CbvMapping, cbv_for
from serialtrace.lifecycle.machine import (
    ACTIVE,
    POST_LINE_REASONS,
    TERMINAL,
    TRANSITIONS,
    Binding,
    IllegalTransitionError,
    Reason,
    Status,
    allowed_reasons,
    allowed_targets,
    check_binding,
    check_transition,
    is_legal,
    replay,
    transition_rows,
    unit_label,
)

__all__ = [
    "ACTIVE",
    "DECOMMISSION_CBV",
    "POST_LINE_REASONS",
    "STATUS_CBV",
    "TERMINAL",
    "TRANSITIONS",
    "Binding",
    "CbvMapping",
    "IllegalTransitionError",
    "Reason",
    "Status",
    "allowed_reasons",
    "allowed_targets",
    "cbv_for",
    "check_binding",
    "check_transition",
    "is_legal",
    "replay",
    "transition_rows",
    "unit_label",
]
