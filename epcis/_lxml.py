"""Typed views of the lxml APIs that ``lxml-stubs`` does not describe.

``lxml-stubs`` has no ``etree.xmlfile`` (incremental writer), no ``etree.iterparse`` and an
empty ``_ErrorLog``. The protocols below type exactly the parts this package uses; the
objects themselves come straight from lxml.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from lxml import etree


class IncrementalWriter(Protocol):
    """The object bound by ``with etree.xmlfile(...) as xf``."""

    def write_declaration(
        self, version: str | None = None, standalone: bool | None = None, doctype: str | None = None
    ) -> None: ...

    def element(
        self,
        tag: str,
        attrib: Mapping[str, str] | None = None,
        nsmap: Mapping[str | None, str] | None = None,
    ) -> AbstractContextManager[None]: ...

    def write(self, *args: str | etree._Element, with_tail: bool = True) -> None: ...

    def flush(self) -> None: ...


class LogEntry(Protocol):
    """One entry of an lxml error log (read-only view)."""

    @property
    def line(self) -> int: ...

    @property
    def message(self) -> str: ...


def xmlfile(output: BinaryIO, encoding: str = "UTF-8") -> AbstractContextManager[IncrementalWriter]:
    """``etree.xmlfile`` writing to an open binary file."""
    factory: Any = getattr(etree, "xmlfile")  # noqa: B009 - not in lxml-stubs
    return cast(AbstractContextManager[IncrementalWriter], factory(output, encoding=encoding))


def iterparse(
    source: Path, *, events: tuple[str, ...], **options: Any
) -> Iterator[tuple[str, etree._Element]]:
    """``etree.iterparse`` over a file (options are passed to the underlying parser)."""
    factory: Any = getattr(etree, "iterparse")  # noqa: B009 - not in lxml-stubs
    return cast(
        Iterator[tuple[str, etree._Element]], factory(str(source), events=events, **options)
    )


def log_entries(error_log: object) -> list[LogEntry]:
    """The entries of an lxml error log (``_ListErrorLog`` is iterable)."""
    return list(cast(Any, error_log))
