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
from urllib.parse import unquote

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


def _full_check(event: dict[str, Any]) -> str | None:
    try:
        _fast("event")(event)
    except fastjsonschema.JsonSchemaException as exc:
        return next(errors(event, kind="event"), f"{exc} (rule: {getattr(exc, 'rule', '?')})")
    return None


# --- events of one shape ----------------------------------------------------------------
#
# Events of a document mostly differ only in their identifiers: eventID, eventTime, parentID
# and the members of the EPC lists. The schema checks each of these with one leaf rule (a
# string in ``uri`` or ``date-time`` format; the lists: arrays of such strings, unique,
# at least one); nothing else in the event's schema depends on their values. So an event
# is valid exactly when (1) each such value passes its leaf rule and each list is free of
# repeats, and (2) the event with those values replaced by fixed valid placeholders (each
# non-empty list by a one-member list) — its *shape* — is valid. (2) is decided by the full
# compiled schema once per shape and remembered; (1) is checked for every event. The
# premise is verified on the schema file itself when it is loaded
# (:func:`_shape_premise_holds`); if the kit's schema ever breaks it, every event gets the
# full check. Any failure is re-checked by the full schema, which also explains it.

_URI_RULE: Final[dict[str, str]] = {"type": "string", "format": "uri"}
_TIME_RULE: Final[dict[str, str]] = {"type": "string", "format": "date-time"}
_STRING: Final[dict[str, str]] = {"type": "string"}  # implied by either rule
#: Field -> (its leaf rule in the schema, a placeholder that passes it).
_LEAVES: Final[dict[str, tuple[dict[str, str], str]]] = {
    "eventID": (_URI_RULE, "urn:serialtrace:shape:id"),
    "parentID": (_URI_RULE, "urn:serialtrace:shape:parent"),
    "eventTime": (_TIME_RULE, "2000-01-01T00:00:00Z"),
    "recordTime": (_TIME_RULE, "2000-01-01T00:00:00Z"),
}
_LISTS: Final = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_LIST_PLACEHOLDER: Final = ["urn:serialtrace:shape:epc"]
_EVENT_LEVEL_KEYS: Final = frozenset(
    {"type", "properties", "required", "allOf", "anyOf", "oneOf", "not", "if", "then",
     "else", "propertyNames", "additionalProperties", "patternProperties", "minProperties",
     "maxProperties", "description", "title", "$comment", "$id", "$schema", "examples",
     "default"}
)  # fmt: skip
_ARRAY_KEYS: Final = frozenset({"type", "items", "uniqueItems", "minItems"})
_SHAPES_MAX: Final = 4096


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    for _ in range(64):
        if not (isinstance(schema, dict) and "$ref" in schema):
            return schema
        ref = schema["$ref"]
        if len(schema) != 1 or not isinstance(ref, str) or not ref.startswith("#/definitions/"):
            return None
        schema = root["definitions"].get(unquote(ref[len("#/definitions/") :]))
    return None


def _shape_premise_holds(root: dict[str, Any]) -> bool:
    """Whether, in this schema, the fields of :data:`_LEAVES` and :data:`_LISTS` are checked
    by their leaf rules only, wherever the event's schema mentions them."""
    abstracted = (*_LEAVES, *_LISTS)
    pending = [_resolve({"$ref": "#/definitions/EPCIS-Document-Event"}, root)]
    seen: set[int] = set()
    while pending:
        schema = pending.pop()
        if isinstance(schema, bool):
            continue
        if not isinstance(schema, dict) or not set(schema) <= _EVENT_LEVEL_KEYS:
            return False
        if id(schema) in seen:
            continue
        seen.add(id(schema))
        for key in ("allOf", "anyOf", "oneOf"):
            pending.extend(_resolve(s, root) for s in schema.get(key, []))
        for key in ("not", "if", "then", "else"):
            if key in schema:
                pending.append(_resolve(schema[key], root))
        properties = schema.get("properties", {})
        for name, (rule, _placeholder) in _LEAVES.items():
            if name in properties and _resolve(properties[name], root) not in (rule, _STRING):
                return False
        for name in _LISTS:
            if name not in properties:
                continue
            array = _resolve(properties[name], root)
            if not isinstance(array, dict) or not set(array) <= _ARRAY_KEYS:
                return False
            if array.get("type") != "array" or array.get("minItems", 0) > 1:
                return False
            if _resolve(array.get("items"), root) not in (_URI_RULE, _STRING):
                return False
        for pattern in schema.get("patternProperties", {}):
            if any(re.search(pattern, name) for name in abstracted):
                return False
        extra = schema.get("additionalProperties", True)
        if (
            not isinstance(extra, bool)
            and extra != {}
            and any(name not in properties for name in abstracted)
        ):
            return False
    return True


class _ShapeChecker:
    def __init__(self) -> None:
        self.enabled = _shape_premise_holds(_validator("event").schema)
        self.shapes: set[str] = set()

    def check(self, event: dict[str, Any]) -> str | None:
        if not self.enabled:
            return _full_check(event)
        shape = dict(event)
        for name, (rule, placeholder) in _LEAVES.items():
            if name in event:
                value = event[name]
                if not isinstance(value, str) or not _leaf_ok(rule, value):
                    return _full_check(event)
                shape[name] = placeholder
        for name in _LISTS:
            if name in event:
                values = event[name]
                if not isinstance(values, list) or not values:
                    continue  # checked as it is, with the shape
                for value in values:
                    if not isinstance(value, str) or _URI.fullmatch(value) is None:
                        return _full_check(event)
                if len(set(values)) != len(values):
                    return _full_check(event)
                shape[name] = _LIST_PLACEHOLDER
        key = json.dumps(shape, separators=(",", ":"))
        if key in self.shapes:
            return None
        problem = _full_check(shape)
        if problem is not None:
            return _full_check(event)  # explained on the event itself
        if len(self.shapes) >= _SHAPES_MAX:
            self.shapes.clear()
        self.shapes.add(key)
        return None


def _leaf_ok(rule: dict[str, str], value: str) -> bool:
    pattern = _URI if rule["format"] == "uri" else _DATE_TIME
    return pattern.fullmatch(value) is not None


_shape_checker: _ShapeChecker | None = None


def shape_check_enabled() -> bool:
    """Whether the kit's schema allows the per-shape check (see above)."""
    return _checker().enabled


def _checker() -> _ShapeChecker:
    global _shape_checker
    with _lock:
        if _shape_checker is None:
            _shape_checker = _ShapeChecker()
        return _shape_checker


def check_event(event: dict[str, Any]) -> str | None:
    """The first schema error of one event object, or ``None`` (the full schema's verdict,
    reached once per event shape, see above)."""
    return _checker().check(event)


def check_document_shell(shell: dict[str, Any]) -> str | None:
    """The first schema error of a document without its events, or ``None``."""
    probe = {**shell, "epcisBody": {"eventList": []}}
    return next(errors(probe), None)


__all__ = [
    "EVENT_CONTEXT",
    "check_document_shell",
    "check_event",
    "errors",
    "schema_path",
    "shape_check_enabled",
]
