"""Validate EPCIS XML files against the official GS1 XSDs of the conformance kit.

The XSD is picked from the root element's namespace (EPCIS 1.2 or 2.0 document, master
data or query document) and read from the conformance kit (``SERIALTRACE_CONFORMANCE_DIR``,
see :mod:`serialtrace.settings`); it is never copied into the project. Validation runs in
libxml2 (``lxml.etree.XMLSchema``) while the file is *streamed* (``iterparse`` with the
schema plugged into the parser, elements dropped as soon as they are complete), so a
document with a million EPCs validates in bounded memory. Streaming gives no line numbers,
so an invalid file (up to ``DETAILED_PASS_MAX_BYTES``) is parsed into a tree and validated
again to report every error with its line.

Parsing is locked down: no network, no DTD loading, no entity expansion, and a DOCTYPE with
an internal subset or external identifier is reported as an error. ``huge_tree`` is only
switched on (and the file parsed again) when a pass without it fails.

An invalid document is an error: :func:`require_valid` raises :class:`EpcisValidationError`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from lxml import etree

from epcis._lxml import LogEntry, iterparse, log_entries
from serialtrace.errors import ConfigurationError, SerialtraceError
from serialtrace.settings import require_conformance_file

#: Root namespace -> XSD, relative to the conformance kit.
SCHEMA_BY_NAMESPACE: Final[dict[str, str]] = {
    "urn:epcglobal:epcis:xsd:1": "epcis-1.2/EPCglobal-epcis-1_2.xsd",
    "urn:epcglobal:epcis-masterdata:xsd:1": "epcis-1.2/EPCglobal-epcis-masterdata-1_2.xsd",
    "urn:epcglobal:epcis-query:xsd:1": "epcis-1.2/EPCglobal-epcis-query-1_2.xsd",
    "urn:epcglobal:epcis:xsd:2": "epcis-2.0/EPCglobal-epcis-2_0.xsd",
    "urn:epcglobal:epcis-masterdata:xsd:2": "epcis-2.0/EPCglobal-epcis-masterdata-2_0.xsd",
    "urn:epcglobal:epcis-query:xsd:2": "epcis-2.0/EPCglobal-epcis-query-2_0.xsd",
}

#: Invalid files up to this size are parsed into a tree a second time to report every error
#: with its line (about 7x the file size in memory); larger ones get the streaming verdict.
DETAILED_PASS_MAX_BYTES: Final = 256 * 2**20

#: At most this many error lines are kept in a report (``error_count`` has the total).
MAX_REPORTED_ERRORS: Final = 1000

_SECURE_OPTIONS: Final[dict[str, bool]] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
}

_schema_cache: dict[Path, tuple[etree.XMLSchema, threading.Lock]] = {}
_cache_lock = threading.Lock()


class EpcisValidationError(SerialtraceError):
    """An EPCIS file is invalid (or not an EPCIS document at all)."""

    def __init__(self, message: str, report: ValidationReport | None = None) -> None:
        self.report = report
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Outcome of validating one file against one XSD."""

    valid: bool
    errors: list[str]
    """``line N: message`` per error, in document order (at most ``MAX_REPORTED_ERRORS``)."""
    schema: Path
    path: Path
    error_count: int = field(default=0)
    """All errors found (may exceed ``len(errors)``)."""
    first_error_line: int | None = None


def _secure_parser(*, huge_tree: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=huge_tree,
    )


def load_schema_with_lock(schema_path: Path) -> tuple[etree.XMLSchema, threading.Lock]:
    """Compiled XSD (cached per file) and the lock guarding its ``error_log``."""
    resolved = Path(schema_path).resolve()
    with _cache_lock:
        cached = _schema_cache.get(resolved)
        if cached is None:
            try:
                document = etree.parse(str(resolved), _secure_parser())
                cached = (etree.XMLSchema(document), threading.Lock())
            except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
                raise ConfigurationError(
                    f"EPCIS schema {resolved} cannot be loaded: {exc}"
                ) from exc
            _schema_cache[resolved] = cached
        return cached


def load_schema(schema_path: Path) -> etree.XMLSchema:
    """Compile (once per file, then cached) the XSD at ``schema_path``."""
    return load_schema_with_lock(schema_path)[0]


def _describe(entry: LogEntry) -> str:
    return f"line {entry.line}: {entry.message.strip()}"


@dataclass(frozen=True, slots=True)
class _Entry:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class _Prolog:
    namespace: str
    root_line: int
    unsafe_doctype: bool


#: A bare ``<!DOCTYPE name>`` (GS1's own 2.0 examples carry ``<!DOCTYPE project>``) is
#: harmless; one with an internal subset (entity declarations) or an external identifier
#: (SYSTEM/PUBLIC) is refused.
_BARE_DOCTYPE: Final = re.compile(r"<!DOCTYPE\s+[\w:.\-]+\s*>")
_PROLOG_MAX_BYTES: Final = 1 << 20


def _has_unsafe_doctype(path: Path, root_line: int) -> bool:
    """Look at the raw prolog (the lines up to the root element) for a risky DOCTYPE."""
    chunks: list[bytes] = []
    size = 0
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            chunks.append(line)
            size += len(line)
            if number >= root_line or size >= _PROLOG_MAX_BYTES:
                break
    # Latin-1 keeps ASCII markup readable whatever the encoding; NULs drop UTF-16 padding.
    prolog = b"".join(chunks).decode("latin-1").replace("\x00", "")
    doctypes = prolog.count("<!DOCTYPE")
    return doctypes > 0 and len(_BARE_DOCTYPE.findall(prolog)) != doctypes


def _read_prolog(path: Path) -> _Prolog:
    """Namespace and line of the document element, and whether a risky DOCTYPE precedes it."""
    try:
        for _event, element in iterparse(path, events=("start",), **_SECURE_OPTIONS):
            line: Any = element.sourceline  # typed oddly in lxml-stubs
            root_line = line if isinstance(line, int) and line > 0 else 1
            return _Prolog(
                namespace=etree.QName(element).namespace or "",
                root_line=root_line,
                unsafe_doctype=_has_unsafe_doctype(path, root_line),
            )
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else 0
        raise EpcisValidationError(
            f"{path}: not well-formed XML at line {line}: {exc.msg}"
        ) from exc
    except OSError as exc:
        raise EpcisValidationError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    raise EpcisValidationError(f"{path}: empty document")


def root_namespace(path: Path) -> str:
    """Namespace of the document element (reads only the start of the file)."""
    return _read_prolog(Path(path)).namespace


def _schema_relative(path: Path, namespace: str) -> str:
    relative = SCHEMA_BY_NAMESPACE.get(namespace)
    if relative is None:
        known = ", ".join(sorted(SCHEMA_BY_NAMESPACE))
        raise EpcisValidationError(
            f"{path}: root namespace {namespace or '(none)'!r} is not an EPCIS namespace "
            f"(expected one of {known})"
        )
    return relative


def schema_for(path: Path) -> Path:
    """The conformance-kit XSD that applies to the file (by root namespace)."""
    path = Path(path)
    return require_conformance_file(_schema_relative(path, root_namespace(path)))


def _hit_parser_limit(exc: etree.XMLSyntaxError) -> bool:
    """libxml2 refused the input because a safety limit was hit (needs ``huge_tree``)."""
    texts = [str(exc)]
    return any("huge" in text.lower() or "excessive" in text.lower() for text in texts)


#: The elements a document of ours repeats (events, master data entries): the streaming
#: pass of :func:`validate_epcis_file` with ``own_document=True`` hands only these to
#: Python and drops each when it is complete (what lies between them is small).
OWN_DOCUMENT_TAGS: Final = tuple(
    f"{{*}}{name}"
    for name in ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent",
                 "AssociationEvent", "QuantityEvent", "VocabularyElement")
)  # fmt: skip


def _stream_check(
    path: Path, schema: etree.XMLSchema, tags: tuple[str, ...] | None = None
) -> str | None:
    """libxml2's streaming (SAX) validation in bounded memory: ``None`` if valid, else a message.

    The streaming validator reports no line numbers, so it only gives the verdict;
    :func:`_tree_errors` explains a failure. A failure without ``huge_tree`` is retried with
    it, because libxml2 stops silently on its safety limits (e.g. a text node over 10 MB)
    in this mode; validity is decided by the second pass.
    """
    message: str | None = None
    for huge_tree in (False, True):
        try:
            selection: dict[str, Any] = {} if tags is None else {"tag": tags}
            for _event, element in iterparse(
                path,
                events=("end",),
                schema=schema,
                huge_tree=huge_tree,
                **selection,
                **_SECURE_OPTIONS,
            ):
                release(element)  # validated: memory stays flat on huge files
        except etree.XMLSyntaxError as exc:
            message = str(exc.msg or exc).strip()
            continue
        return None
    return message or "document is not valid"


def _clean(entries: list[LogEntry]) -> list[_Entry]:
    """Drop libxml2's line-0 repeats and duplicates, keep document order."""
    unique: list[_Entry] = []
    seen: set[tuple[int, str]] = set()
    for entry in entries:
        key = (entry.line, entry.message.strip())
        if entry.line <= 0 or key in seen:
            continue
        seen.add(key)
        unique.append(_Entry(*key))
    return unique


def _tree_errors(path: Path, schema: etree.XMLSchema, schema_lock: threading.Lock) -> list[_Entry]:
    """Every error, with its line, from parsing ``path`` into a tree and validating it."""
    tree: etree._ElementTree | None = None
    for huge_tree in (False, True):
        parser = _secure_parser(huge_tree=huge_tree)
        try:
            tree = etree.parse(str(path), parser)
            break
        except etree.XMLSyntaxError as exc:
            if not huge_tree and _hit_parser_limit(exc):
                continue
            # The parser's own log: the exception's may carry older, unrelated entries.
            entries = _clean(log_entries(parser.error_log))
            line = exc.position[0] if exc.position else 0
            return entries or [_Entry(line, str(exc.msg))]
    if tree is None:  # pragma: no cover - parse either returned or raised
        return [_Entry(0, "document could not be parsed")]
    with schema_lock:
        try:
            valid = schema.validate(tree)
        except etree.XMLSchemaValidateError as exc:  # libxml2 internal error
            return [_Entry(0, f"schema validation failed: {exc}")]
        entries = _clean(log_entries(schema.error_log))
    if valid:
        return []
    return entries or [_Entry(0, "document is not valid (libxml2 gave no details)")]


def validate_epcis_file(path: Path, *, own_document: bool = False) -> ValidationReport:
    """Validate ``path`` against the XSD its root namespace calls for.

    ``own_document``: the file is one our writers produced (bounded outside its events), so
    the streaming pass looks at events and master data entries only (see
    :data:`OWN_DOCUMENT_TAGS`); the verdict is the same, libxml2 validates every element.

    A document with a DOCTYPE is reported invalid without further parsing (EPCIS files
    never need DTDs; refusing them shuts out entity tricks). Raises
    :class:`EpcisValidationError` when the file cannot be read, is not XML up to its root
    element, or its root namespace is not an EPCIS one (no schema applies), and
    :class:`serialtrace.errors.ConfigurationError` when the conformance kit is missing.
    """
    path = Path(path)
    prolog = _read_prolog(path)
    schema_path = require_conformance_file(_schema_relative(path, prolog.namespace))
    schema, schema_lock = load_schema_with_lock(schema_path)
    entries: list[_Entry]
    if prolog.unsafe_doctype:
        entries = [
            _Entry(
                prolog.root_line,
                "DOCTYPE with entity declarations or an external DTD before the root element: "
                "not allowed in EPCIS documents (refused for safety)",
            )
        ]
    elif (
        stream_message := _stream_check(path, schema, OWN_DOCUMENT_TAGS if own_document else None)
    ) is None:
        entries = []
    elif path.stat().st_size > DETAILED_PASS_MAX_BYTES:
        entries = [
            _Entry(
                0,
                f"{stream_message} (line unknown: the file is larger than "
                f"{DETAILED_PASS_MAX_BYTES // 2**20} MiB, the detailed pass was skipped)",
            )
        ]
    else:
        # Streaming and tree validation never disagree on the kit; if they ever did, the
        # streaming verdict stands: such a file is never called valid.
        entries = _tree_errors(path, schema, schema_lock) or [_Entry(0, stream_message)]
    return ValidationReport(
        valid=not entries,
        errors=[_describe(entry) for entry in entries[:MAX_REPORTED_ERRORS]],
        schema=schema_path,
        path=path,
        error_count=len(entries),
        first_error_line=entries[0].line if entries else None,
    )


def require_valid(path: Path) -> None:
    """Raise :class:`EpcisValidationError` unless ``path`` is valid against its EPCIS XSD."""
    report = validate_epcis_file(path)
    if report.valid:
        return
    count = report.error_count
    raise EpcisValidationError(
        f"{path} is not valid against {report.schema.name}: "
        f"{count} error{'s' if count != 1 else ''}, first at {report.errors[0]}",
        report,
    )


__all__ = [
    "DETAILED_PASS_MAX_BYTES",
    "MAX_REPORTED_ERRORS",
    "SCHEMA_BY_NAMESPACE",
    "EpcisValidationError",
    "ValidationReport",
    "load_schema",
    "load_schema_with_lock",
    "require_valid",
    "root_namespace",
    "schema_for",
    "validate_epcis_file",
]


def release(element: etree._Element) -> None:
    """Drop an element an iterparse has finished with, and its earlier siblings: memory
    stays flat however large the document."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
