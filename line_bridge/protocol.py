"""The TCP line protocol between the bridge and its devices: one JSON object per line.

Bridge → printer   {"cmd": "print", "seq": 17, "serial": "...", "payload": "...", "hri": [...]}
printer → bridge   {"type": "ack", "cmd": "print", "seq": 17}
camera → bridge    {"type": "inspect", "trigger": 17, "decoded": "..."|null,
                    "grade": "A".."F", "grade_value": 4.0..0.0, "readable": true|false}
bridge → gate      {"cmd": "reject", "seq": 17}
gate → bridge      {"type": "ack", "cmd": "reject", "seq": 17, "confirmed": true}
station → bridge   {"type": "scan", "container": 7, "code": "..."}
                   {"type": "closed", "container": 7, "count": 20[, "batch_end": true]}
                   {"type": "ack", "cmd": "divert", "container": 7}
bridge → station   {"cmd": "close"} | {"cmd": "divert", "container": 7, "reason": "..."}
bridge → labeler   {"cmd": "label", "level": "case", "sscc": "...", "payload": "00...",
                    "hri": [...]}
labeler → bridge   {"type": "ack", "cmd": "label", "sscc": "..."}

Payloads carry the GS separator (ASCII 29) JSON-escaped as ``\\u001d``. docs/line-protocol.md
describes the protocol for device vendors.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from serialtrace.errors import SerialtraceError

MAX_LINE = 64 * 1024


class ProtocolError(SerialtraceError):
    """A device sent something that is not a protocol message."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not a JSON line: {line[:80]!r}") from exc
    if not isinstance(message, dict):
        raise ProtocolError(f"not a JSON object: {line[:80]!r}")
    return message


async def read_message(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, or None when the peer closed the connection."""
    line = await reader.readline()
    if not line:
        return None
    return decode(line)
