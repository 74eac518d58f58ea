"""A second printer dialect: a tab-separated text protocol of the kind many coding and
marking printers speak (one command per line, CR LF terminated).

    bridge → printer   JOB<TAB>17<TAB>DM=01003123...~d02921615213087799<TAB>HR=NDC ...\r\n
    printer → bridge   OK<TAB>17\r\n           printed
                       ERR<TAB>17<TAB>reason\r\n  not printed

In ``DM=`` the GS separator (ASCII 29) is written ``~d029`` and a literal ``~`` as ``~~``
(the escape convention of several printer languages); tabs and line breaks are not
allowed in human-readable lines.
"""

from __future__ import annotations

from line_bridge.devices.base import PrintAck, PrintJob
from line_bridge.devices.tcp import TcpDevice
from line_bridge.protocol import ProtocolError

GS = "\x1d"


def escape_payload(payload: str) -> str:
    return payload.replace("~", "~~").replace(GS, "~d029")


def unescape_payload(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("~~", i):
            out.append("~")
            i += 2
        elif text.startswith("~d029", i):
            out.append(GS)
            i += 5
        elif text[i] == "~":
            raise ProtocolError(f"unknown escape at {i} in {text!r}")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def format_job(job: PrintJob) -> bytes:
    for line in job.hri:
        if any(c in line for c in "\t\r\n"):
            raise ProtocolError(f"human-readable line {line!r} holds a tab or line break")
    fields = ["JOB", str(job.seq), "DM=" + escape_payload(job.payload)]
    fields += ["HR=" + line for line in job.hri]
    return ("\t".join(fields) + "\r\n").encode()


def parse_job(line: bytes) -> tuple[int, str, list[str]]:
    parts = line.decode().rstrip("\r\n").split("\t")
    if len(parts) < 3 or parts[0] != "JOB" or not parts[2].startswith("DM="):
        raise ProtocolError(f"not a JOB command: {line[:80]!r}")
    return int(parts[1]), unescape_payload(parts[2][3:]), [p[3:] for p in parts[3:]]


class TextPrinter(TcpDevice):
    """driver = "textcmd" for a printer."""

    def print(self, job: PrintJob) -> bool:
        return self.link.send(format_job(job))

    def _on_line(self, line: bytes) -> None:
        assert self._sink is not None
        parts = line.decode(errors="replace").rstrip("\r\n").split("\t")
        if len(parts) >= 2 and parts[0] in ("OK", "ERR") and parts[1].isdigit():
            ok = parts[0] == "OK"
            reason = None if ok else (parts[2] if len(parts) > 2 else "printer error")
            self._sink(PrintAck(self.name, int(parts[1]), ok, reason))
        else:
            raise ProtocolError(f"{self.name}: unusable answer {line[:80]!r}")
