"""XSD validation of a document while it is being written, on the machine's other core.

libxml2 validates in C but holds the GIL, so a thread does not help; a second process does.
The writer hands every block it writes to the file to a :class:`ConcurrentValidator` as
well; once the document passes ``start_after`` bytes (small documents are validated after
writing, as before: starting a process costs more than they do) a spawned process is
started, given the bytes written so far (read back from the file), then every further
block through a pipe, and validates them with the official XSD as a stream (libxml2's
streaming validation, events dropped once complete: bounded memory in both processes).
The order of the bytes is the file's: one writer, one pipe.

The verdict is only a verdict: an invalid document is explained by the writer's usual path
(:func:`epcis.validate.validate_epcis_file` and the event it sits in). If the process
cannot be started (e.g. inside a daemonic worker) or fails, :meth:`verdict` returns
``None`` and the writer validates the finished file itself — never "valid" by default.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

from lxml import etree

#: Documents up to this size are validated after writing, in the writer's process.
START_AFTER_BYTES: Final = 8 * 2**20

_VALID: Final = "valid"


def _validate_stream(schema_file: str, tags: tuple[str, ...], connection: Connection) -> None:
    """Child process: feed the received blocks to a validating pull parser; answer
    ``valid`` or the first error once the writer says ``end``."""
    from epcis.validate import load_schema
    from serialtrace.errors import SerialtraceError

    problem: str | None = None
    try:
        parser: Any = etree.XMLPullParser(
            events=("end",),
            tag=tags,
            schema=load_schema(Path(schema_file)),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=True,
        )
    except (etree.LxmlError, OSError, SerialtraceError):
        connection.close()  # no answer: the writer validates the file itself
        return
    while True:
        try:
            block = connection.recv_bytes()
        except (EOFError, OSError):
            return  # the writer gave up (its own error): nothing to answer
        if not block:
            break
        if problem is not None:
            continue  # drain: the writer must not block on a full pipe
        try:
            parser.feed(block)
            for _event, element in parser.read_events():
                element.clear()
                parent = element.getparent()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as exc:
            problem = str(exc.msg or exc).strip() or "document is not valid"
    if problem is None:
        try:
            parser.close()
        except etree.XMLSyntaxError as exc:
            problem = str(exc.msg or exc).strip() or "document is not valid"
    connection.send(problem or _VALID)
    connection.close()


class ConcurrentValidator:
    """Tee of the bytes written to ``partial`` into a validating child process."""

    def __init__(self, partial: Path, schema_file: Path, tags: tuple[str, ...]) -> None:
        self.partial = partial
        self.schema_file = schema_file
        self.tags = tags
        self.written = 0
        self.connection: Connection | None = None
        self.process: Any = None
        self.failed = False

    def _start(self, raw: Any) -> None:
        try:
            context = multiprocessing.get_context("spawn")
            mine, theirs = context.Pipe(duplex=True)
            process = context.Process(
                target=_validate_stream,
                args=(str(self.schema_file), self.tags, theirs),
                name="serialtrace-xsd",
                daemon=True,
            )
            process.start()
            theirs.close()
        except (AssertionError, OSError, ValueError):  # e.g. daemonic processes can't fork
            self.failed = True
            return
        self.connection, self.process = mine, process
        raw.flush()
        with self.partial.open("rb") as already:
            while block := already.read(1 << 20):
                self._send(block)

    def _send(self, block: bytes) -> None:
        if self.connection is None:
            return
        try:
            self.connection.send_bytes(block)
        except OSError:
            self.failed = True
            self.connection = None

    def write(self, raw: Any, block: bytes) -> None:
        """Write ``block`` to ``raw`` (the partial file) and to the validator."""
        if not block:
            return
        raw.write(block)
        self.written += len(block)
        if self.connection is not None:
            self._send(block)
        elif not self.failed and self.written >= START_AFTER_BYTES:
            self._start(raw)

    def verdict(self) -> str | None:
        """``valid``, the first error, or ``None`` when no child validated the whole file
        (not started, or failed): then the caller validates the file itself."""
        connection = self.connection
        if connection is None or self.failed:
            self.close()
            return None
        try:
            connection.send_bytes(b"")
            answer = connection.recv()
        except (EOFError, OSError):
            answer = None
        self.close()
        return answer if isinstance(answer, str) else None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        if self.process is not None:
            self.process.join(timeout=30)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            self.process = None


VALID: Final = _VALID

__all__ = ["START_AFTER_BYTES", "VALID", "ConcurrentValidator"]
