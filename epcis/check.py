"""Validate any EPCIS file against the official schemas, every error with its line.

XML (1.2 or 2.0, picked by root namespace) against the kit's XSDs (:mod:`epcis.validate`);
JSON-LD against the kit's JSON schema (:mod:`epcis.jsonschema_check`), each error located
on its line by a small position-tracking scan of the JSON text.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from epcis.documents import sniff_format
from epcis.jsonschema_check import _validator, schema_path
from epcis.validate import validate_epcis_file


@dataclass(frozen=True, slots=True)
class FileReport:
    path: Path
    valid: bool
    schema: str
    errors: list[str]  # "line N: message"


def json_value_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Line (1-based) where each value of a JSON text starts, keyed by its path."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    decoder = json.JSONDecoder()
    lines: dict[tuple[str | int, ...], int] = {}

    def skip(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    def value(pos: int, path: tuple[str | int, ...]) -> int:
        pos = skip(pos)
        lines[path] = bisect.bisect_right(starts, pos)
        if text.startswith("{", pos):
            pos = skip(pos + 1)
            if text.startswith("}", pos):
                return pos + 1
            while True:
                key, pos = decoder.raw_decode(text, skip(pos))
                pos = skip(pos) + 1  # ':'
                pos = skip(value(pos, (*path, str(key))))
                if text.startswith("}", pos):
                    return pos + 1
                pos += 1  # ','
        if text.startswith("[", pos):
            pos = skip(pos + 1)
            if text.startswith("]", pos):
                return pos + 1
            index = 0
            while True:
                pos = skip(value(pos, (*path, index)))
                index += 1
                if text.startswith("]", pos):
                    return pos + 1
                pos += 1
        _scalar, end = decoder.raw_decode(text, pos)
        return int(end)

    value(0, ())
    return lines


def _json_report(path: Path) -> FileReport:
    text = path.read_text(encoding="utf-8")
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        return FileReport(path, False, "JSON", [f"line {exc.lineno}: not well-formed: {exc.msg}"])
    lines = json_value_lines(text)
    found = []
    for error in _validator("document").iter_errors(document):
        location = tuple(error.absolute_path)
        while location and location not in lines:
            location = location[:-1]
        line = lines.get(location, 1)
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        found.append((line, f"line {line}: at {where}: {error.message} (rule: {error.validator})"))
    found.sort(key=lambda item: item[0])
    return FileReport(path, not found, schema_path().name, [m for _l, m in found])


def check_file(path: Path) -> FileReport:
    """Validate one EPCIS file (XML or JSON-LD) against the official schema it calls for."""
    path = Path(path)
    if sniff_format(path) == "json":
        return _json_report(path)
    report = validate_epcis_file(path)
    return FileReport(path, report.valid, report.schema.name, report.errors)


__all__ = ["FileReport", "check_file", "json_value_lines"]
