"""XSD validation of a document while it is being written, on the machine's other core.

libxml2 validates in C but holds the GIL, so a thread does not help; a second process does.
The writer hands every block it writes to the file to a :class:`ConcurrentValidator` as
well; once the document passes ``start_after`` bytes (small documents are validated after
writing, as before: starting a process costs more than they do) a child process
(``python -m epcis.parallel_xsd``: a fresh interpreter that imports this module and
``epcis.validate``,
never the parent's main script, unlike multiprocessing's spawn) is started, given the
bytes written so far (read back from the file), then every further block on its stdin,
and validates them with the official XSD as a stream (libxml2's
streaming validation, events dropped once complete: bounded memory in both processes).
The order of the bytes is the file's: one writer, one pipe.

The verdict is only a verdict: an invalid document is explained by the writer's usual path
(:func:`epcis.validate.validate_epcis_file` and the event it sits in). If the process
cannot be started or fails, :meth:`verdict` returns
``None`` and the writer validates the finished file itself — never "valid" by default.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Final

from lxml import etree

from epcis.validate import release

#: Documents up to this size are validated after writing, in the writer's process.
START_AFTER_BYTES: Final = 8 * 2**20

_VALID: Final = "valid"
_BLOCK: Final = 1 << 20


def _validate_stream(schema_file: str, tags: tuple[str, ...], source: IO[bytes]) -> str | None:
    """Feed the blocks read from ``source`` to a validating pull parser until end of
    input: ``valid``, the first error, or None when the schema cannot be loaded."""
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
        return None
    while block := source.read(_BLOCK):
        if problem is not None:
            continue  # drain: the writer must not block on a full pipe
        try:
            parser.feed(block)
            for _event, element in parser.read_events():
                release(element)
        except etree.XMLSyntaxError as exc:
            problem = str(exc.msg or exc).strip() or "document is not valid"
    if problem is None:
        try:
            parser.close()
        except etree.XMLSyntaxError as exc:
            problem = str(exc.msg or exc).strip() or "document is not valid"
    return problem or _VALID


def main(argv: Sequence[str] | None = None) -> int:
    """Child process: ``python -m epcis.parallel_xsd SCHEMA TAG...``, the document on
    stdin, the verdict as one JSON line on stdout (exit 3: no verdict)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        return 3
    answer = _validate_stream(args[0], tuple(args[1:]), sys.stdin.buffer)
    if answer is None:
        return 3
    sys.stdout.write(json.dumps({"verdict": answer}) + "\n")
    return 0


class ConcurrentValidator:
    """Tee of the bytes written to ``partial`` into a validating child process."""

    def __init__(self, partial: Path, schema_file: Path, tags: tuple[str, ...]) -> None:
        self.partial = partial
        self.schema_file = schema_file
        self.tags = tags
        self.written = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.failed = False

    def _start(self, raw: Any) -> None:
        package_root = str(Path(__file__).resolve().parent.parent)
        path = os.environ.get("PYTHONPATH")
        env = dict(os.environ, PYTHONPATH=package_root + (os.pathsep + path if path else ""))
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "epcis.parallel_xsd", str(self.schema_file), *self.tags],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        except OSError:
            self.failed = True
            return
        self.process = process
        raw.flush()
        with self.partial.open("rb") as already:
            while block := already.read(_BLOCK):
                self._send(block)

    def _send(self, block: bytes) -> None:
        process = self.process
        if process is None or process.stdin is None or self.failed:
            return
        try:
            process.stdin.write(block)
        except OSError:  # the child is gone (BrokenPipeError): the writer validates itself
            self.failed = True

    def write(self, raw: Any, block: bytes) -> None:
        """Write ``block`` to ``raw`` (the partial file) and to the validator."""
        if not block:
            return
        raw.write(block)
        self.written += len(block)
        if self.process is not None:
            self._send(block)
        elif not self.failed and self.written >= START_AFTER_BYTES:
            self._start(raw)

    def verdict(self) -> str | None:
        """``valid``, the first error, or ``None`` when no child validated the whole file
        (not started, or failed): then the caller validates the file itself."""
        process = self.process
        if process is None or self.failed:
            self.close()
            return None
        answer: object = None
        try:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.close()
            line = process.stdout.read()
            if process.wait(timeout=120) == 0:
                answer = json.loads(line).get("verdict")
        except (OSError, ValueError, subprocess.TimeoutExpired):
            answer = None
        self.close()
        return answer if isinstance(answer, str) else None

    def close(self) -> None:
        process = self.process
        if process is None:
            return
        self.process = None
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


VALID: Final = _VALID

__all__ = ["START_AFTER_BYTES", "VALID", "ConcurrentValidator"]

if __name__ == "__main__":
    sys.exit(main())
