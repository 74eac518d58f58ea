"""Devices speaking the Serialtrace JSON-lines protocol (docs/line-protocol.md)."""

from __future__ import annotations

from line_bridge.devices.base import (
    CaseInspection,
    CaseRejectConfirmation,
    InspectionResult,
    LabelAck,
    LabelJob,
    PrintAck,
    PrintJob,
    RejectConfirmation,
    StationClosed,
    StationDiverted,
    StationScan,
)
from line_bridge.devices.tcp import TcpDevice
from line_bridge.protocol import ProtocolError, decode, encode


class _JsonDevice(TcpDevice):
    def _emit(self, line: bytes) -> None:
        raise NotImplementedError

    def _on_line(self, line: bytes) -> None:
        try:
            self._emit(line)
        except (ProtocolError, KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"{self.name}: unusable message {line[:80]!r}: {exc}") from exc


class JsonPrinter(_JsonDevice):
    """driver = "jsonl" for a printer."""

    def print(self, job: PrintJob) -> bool:
        message = {
            "cmd": "print",
            "seq": job.seq,
            "serial": job.serial,
            "payload": job.payload,
            "hri": list(job.hri),
        }
        return self.link.send(encode(message))

    def _emit(self, line: bytes) -> None:
        assert self._sink is not None
        message = decode(line)
        if message.get("type") == "ack":
            self._sink(PrintAck(self.name, int(message["seq"]), True))
        else:
            seq = int(message.get("seq", -1))
            self._sink(PrintAck(self.name, seq, False, str(message.get("reason", message))))


class JsonCamera(_JsonDevice):
    """driver = "jsonl" for a camera."""

    def _emit(self, line: bytes) -> None:
        assert self._sink is not None
        m = decode(line)
        if m.get("type") != "inspect":
            raise ProtocolError(f"not an inspection result: {m}")
        grade_value = m.get("grade_value")
        self._sink(
            InspectionResult(
                device=self.name,
                trigger=int(m["trigger"]),
                decoded=m.get("decoded"),
                grade=m.get("grade"),
                grade_value=None if grade_value is None else float(grade_value),
                readable=bool(m.get("readable")),
            )
        )


class JsonRejectGate(_JsonDevice):
    """driver = "jsonl" for a reject gate."""

    def reject(self, seq: int) -> bool:
        return self.link.send(encode({"cmd": "reject", "seq": seq}))

    def _emit(self, line: bytes) -> None:
        assert self._sink is not None
        m = decode(line)
        confirmed = m.get("type") == "ack" and bool(m.get("confirmed"))
        self._sink(RejectConfirmation(self.name, int(m["seq"]), confirmed))


class JsonLabelPrinter(_JsonDevice):
    """driver = "jsonl" for a case or pallet label printer."""

    def label(self, job: LabelJob) -> bool:
        message = {
            "cmd": "label",
            "level": job.level,
            "sscc": job.sscc,
            "payload": job.payload,
            "hri": list(job.hri),
        }
        return self.link.send(encode(message))

    def _emit(self, line: bytes) -> None:
        assert self._sink is not None
        m = decode(line)
        ok = m.get("type") == "ack"
        reason = None if ok else str(m.get("reason", m))
        retry = not ok and bool(m.get("retry"))
        self._sink(LabelAck(self.name, str(m.get("sscc", "")), ok, reason, retry))


class JsonStation(_JsonDevice):
    """driver = "jsonl" for an aggregation station (case packer or palletizer)."""

    def close_partial(self) -> bool:
        return self.link.send(encode({"cmd": "close"}))

    def divert(self, container: int, reason: str) -> bool:
        return self.link.send(encode({"cmd": "divert", "container": container, "reason": reason}))

    def _emit(self, line: bytes) -> None:
        assert self._sink is not None
        m = decode(line)
        kind = m.get("type")
        if kind == "scan":
            self._sink(StationScan(self.name, int(m["container"]), str(m["code"])))
        elif kind == "closed":
            self._sink(
                StationClosed(
                    self.name, int(m["container"]), int(m["count"]), bool(m.get("batch_end"))
                )
            )
        elif kind == "ack" and m.get("cmd") == "divert":
            self._sink(StationDiverted(self.name, int(m["container"])))
        else:
            raise ProtocolError(f"not a station message: {m}")


class JsonCaseCamera(_JsonDevice):
    """driver = "jsonl" for a case camera (case label verification with a reject arm)."""

    def reject(self, sscc: str) -> bool:
        return self.link.send(encode({"cmd": "reject", "sscc": sscc}))

    def _emit(self, line: bytes) -> None:
        assert self._sink is not None
        m = decode(line)
        if m.get("type") == "case_inspect":
            grade_value = m.get("grade_value")
            self._sink(
                CaseInspection(
                    device=self.name,
                    sscc=str(m["sscc"]),
                    decoded=m.get("decoded"),
                    grade=m.get("grade"),
                    grade_value=None if grade_value is None else float(grade_value),
                    readable=bool(m.get("readable")),
                )
            )
        elif m.get("type") == "ack" and m.get("cmd") == "reject":
            self._sink(CaseRejectConfirmation(self.name, str(m["sscc"]), bool(m["confirmed"])))
        else:
            raise ProtocolError(f"not a case camera message: {m}")
