"""Convert an EPCIS document between 1.2 XML, 2.0 XML and 2.0 JSON-LD.

Events, extensions, ILMD, sensor data and header master data travel through the neutral
form (:mod:`epcis.documents`) and are written by the validating streaming writers
(:mod:`epcis.writers`). What the target cannot carry (sensor data or persistent
disposition into 1.2, a 1.2 QuantityEvent into 2.0, …) is an error naming the event and
the field, never a silent loss. Event IDs the source gives are kept; 2.0 targets give
events without one their CBV 2.0 event hash.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from epcis.documents import read_document, trailing_extras
from epcis.neutral import format_datetime
from epcis.writers import FORMATS, DocumentStats, write_document
from serialtrace.errors import SerialtraceError


def convert(source: Path, fmt: str, out: Path) -> DocumentStats:
    """Convert ``source`` to ``fmt``, written (validated) to ``out``."""
    if fmt not in FORMATS:
        raise SerialtraceError(f"--to must be one of {', '.join(FORMATS)}, got {fmt!r}")
    source = Path(source)
    header, events = read_document(source)
    if header.format == "2.0-xml":
        header.extras.extend(trailing_extras(source))
    if not header.creation_date:  # e.g. a capture job document: the conversion's time
        header.creation_date = format_datetime(datetime.now(UTC))
    return write_document(
        out, header, (e.node for e in events), fmt, ids="keep" if fmt != "1.2-xml" else "none"
    )


def convert_to_stdout(source: Path, fmt: str) -> DocumentStats:
    """Convert to a temporary file (validated), then copy it to standard output."""
    with tempfile.TemporaryDirectory(prefix="serialtrace-convert-") as folder:
        target = Path(folder) / f"out{fmt}"
        stats = convert(source, fmt, target)
        with target.open("rb") as handle:
            while block := handle.read(1 << 20):
                sys.stdout.buffer.write(block)
        sys.stdout.buffer.flush()
    return stats


__all__ = ["convert", "convert_to_stdout"]
