"""Validation against the official EPCIS 2.0 JSON schema (``EPCIS-JSON-Schema.json`` of the
conformance kit, draft-07), usable piece by piece so a streamed document is validated in
bounded memory: each event against the schema's event definition, the document shell
(everything but the events) against the document definition.

Formats ``date-time`` and ``uri`` are checked (RFC 3339 with a mandatory offset; an
absolute URI with a scheme): jsonschema needs optional packages for them, so the checks
are registered here.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import fastjsonschema
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaError

from serialtrace.settings import require_conformance_file

SCHEMA_FILE: Final = "epcis-2.0/EPCIS-JSON-Schema.json"
EVENT_CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

_DATE_TIME: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)
_URI: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*")

_lock = threading.RLock()
_validators: dict[str, Draft7Validator] = {}


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or _DATE_TIME.fullmatch(value) is not None

    def _uri(value: object) -> bool:
        return not isinstance(value, str) or _URI.fullmatch(value) is not None

    checker.checks("date-time")(_date_time)
    checker.checks("uri")(_uri)
    return checker


def schema_path() -> Path:
    return require_conformance_file(SCHEMA_FILE)


def _validator(kind: str) -> Draft7Validator:
    with _lock:
        cached = _validators.get(kind)
        if cached is None:
            schema: dict[str, Any] = json.loads(schema_path().read_text(encoding="utf-8"))
            if kind == "event":
                schema = {
                    "$schema": schema["$schema"],
                    "definitions": schema["definitions"],
                    "$ref": "#/definitions/EPCIS-Document-Event",
                }
            cached = Draft7Validator(schema, format_checker=_format_checker())
            _validators[kind] = cached
        return cached


def _describe(error: SchemaError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    # The deepest, most specific cause reads best.
    best = error
    while best.context:
        best = min(best.context, key=lambda e: len(e.context or []))
    rule = best.validator
    return f"at {where}: {best.message} (rule: {rule})"


def errors(document: object, *, kind: str = "document") -> Iterator[str]:
    """Every schema error of ``document`` (``kind``: ``document`` or ``event``)."""
    for error in sorted(_validator(kind).iter_errors(document), key=lambda e: list(e.path)):
        yield _describe(error)


_compiled: dict[str, Callable[[object], object]] = {}


def _fast(kind: str) -> Callable[[object], object]:
    """The schema compiled to Python by fastjsonschema (about 20x faster than jsonschema):
    the pass/fail verdict on the hot path; jsonschema explains a failure."""
    with _lock:
        compiled = _compiled.get(kind)
        if compiled is None:
            schema = _validator(kind).schema
            compiled = fastjsonschema.compile(
                schema,
                formats={
                    "date-time": lambda v: _DATE_TIME.fullmatch(v) is not None,
                    "uri": lambda v: _URI.fullmatch(v) is not None,
                },
            )
            _compiled[kind] = compiled
        return compiled


def check_event(event: dict[str, Any]) -> str | None:
    """The first schema error of one event object, or ``None``."""
    try:
        _fast("event")(event)
    except fastjsonschema.JsonSchemaException as exc:
        return next(errors(event, kind="event"), f"{exc} (rule: {getattr(exc, 'rule', '?')})")
    return None


def check_document_shell(shell: dict[str, Any]) -> str | None:
    """The first schema error of a document without its events, or ``None``."""
    probe = {**shell, "epcisBody": {"eventList": []}}
    return next(errors(probe), None)


__all__ = ["EVENT_CONTEXT", "check_document_shell", "check_event", "errors", "schema_path"]
