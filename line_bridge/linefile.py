"""The line file: one packaging line's devices, addresses and rules (TOML).

[line]
id = "LINE-1"
artwork = "us-dscsa"          # us-dscsa | eu-fmd | sa-sfda (market profile [hri])
member_state = "DE"           # optional: EU member state (national number line)
grade_threshold = 1.5         # ISO/IEC 15415 grade C
decision_budget_ms = 500
reject_budget_ms = 2000
case_size = 20
pallet_size = 40

[devices.printer]
driver = "jsonl"              # jsonl | textcmd
host = "127.0.0.1"
port = 9100

[devices.camera]
driver = "jsonl"              # jsonl | opcua
host = "127.0.0.1"
port = 9101

[devices.gate]
driver = "jsonl"              # jsonl | opcua
host = "127.0.0.1"
port = 9102

# Optional, all four or none: aggregation stations (else cases and pallets are filled
# in software by count, line_bridge/aggregation.py)
[devices.case_packer]         # jsonl
[devices.case_labeler]        # jsonl | opcua
[devices.palletizer]          # jsonl
[devices.pallet_labeler]      # jsonl | opcua
# Optional, with the stations: a case camera after the case labeler (second inspection
# point: reads each case label, rejects a case whose label fails)
[devices.case_camera]         # jsonl
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from line_bridge.artwork import ARTWORK, national_rule
from line_bridge.bridge import LineConfig
from line_bridge.devices.base import Camera, Printer, RejectGate
from line_bridge.devices.jsonl import (
    JsonCamera,
    JsonCaseCamera,
    JsonLabelPrinter,
    JsonPrinter,
    JsonRejectGate,
    JsonStation,
)
from line_bridge.devices.textcmd import TextPrinter
from line_bridge.stations import Stations
from serialtrace.errors import ConfigurationError, ValidationError

PRINTER_DRIVERS = {"jsonl": JsonPrinter, "textcmd": TextPrinter}
CAMERA_DRIVERS: dict[str, Any] = {"jsonl": JsonCamera}
GATE_DRIVERS: dict[str, Any] = {"jsonl": JsonRejectGate}
STATION_DRIVERS: dict[str, Any] = {"jsonl": JsonStation}
LABELER_DRIVERS: dict[str, Any] = {"jsonl": JsonLabelPrinter}
STATION_KINDS = {
    "case_packer": STATION_DRIVERS,
    "case_labeler": LABELER_DRIVERS,
    "palletizer": STATION_DRIVERS,
    "pallet_labeler": LABELER_DRIVERS,
}
CASE_CAMERA_DRIVERS: dict[str, Any] = {"jsonl": JsonCaseCamera}
OPTIONAL_STATION_KINDS = {"case_camera": CASE_CAMERA_DRIVERS}  # with the four above only


@dataclass(frozen=True)
class DeviceConfig:
    name: str
    driver: str
    host: str
    port: int
    options: dict[str, Any]


@dataclass(frozen=True)
class LineFile:
    line: LineConfig
    printer: DeviceConfig
    camera: DeviceConfig
    gate: DeviceConfig
    stations: dict[str, DeviceConfig] | None = None  # STATION_KINDS → device, or None

    def with_ports(self, ports: dict[str, int], host: str = "127.0.0.1") -> LineFile:
        """The same line with its devices at other loopback ports (simulators)."""
        stations = None
        if self.stations is not None:
            stations = {
                kind: replace(cfg, host=host, port=ports[kind])
                for kind, cfg in self.stations.items()
            }
        return replace(
            self,
            printer=replace(self.printer, host=host, port=ports["printer"]),
            camera=replace(self.camera, host=host, port=ports["camera"]),
            gate=replace(self.gate, host=host, port=ports["gate"]),
            stations=stations,
        )

    def devices(self) -> tuple[Printer, Camera, RejectGate]:
        return (
            _build(self.printer, PRINTER_DRIVERS),
            _build(self.camera, CAMERA_DRIVERS),
            _build(self.gate, GATE_DRIVERS),
        )

    def station_devices(self) -> Stations | None:
        """The aggregation stations and label printers, None for software aggregation."""
        if self.stations is None:
            return None
        kinds = STATION_KINDS | OPTIONAL_STATION_KINDS
        built = {kind: _build(cfg, kinds[kind]) for kind, cfg in self.stations.items()}
        return Stations(**built)


def _build(cfg: DeviceConfig, drivers: dict[str, Any]) -> Any:
    return drivers[cfg.driver](cfg.name, cfg.host, cfg.port, **cfg.options)


def _register_opcua() -> None:
    try:
        from line_bridge.devices.opcua import OpcUaCamera, OpcUaLabelPrinter, OpcUaRejectGate
    except ImportError:  # pragma: no cover - the OPC UA adapter ships with the package
        return
    CAMERA_DRIVERS["opcua"] = OpcUaCamera
    GATE_DRIVERS["opcua"] = OpcUaRejectGate
    LABELER_DRIVERS["opcua"] = OpcUaLabelPrinter


def _device(data: dict[str, Any], kind: str, drivers: dict[str, Any]) -> DeviceConfig:
    section = data.get("devices", {}).get(kind)
    if not isinstance(section, dict):
        raise ValidationError(
            f"devices.{kind}", "missing: every line needs a printer, camera, gate"
        )
    driver = str(section.get("driver", "jsonl"))
    if driver not in drivers:
        raise ValidationError(
            f"devices.{kind}.driver", f"unknown driver {driver!r}; known: {', '.join(drivers)}"
        )
    port = section.get("port", 0)
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValidationError(f"devices.{kind}.port", "must be a TCP port (0-65535)")
    options = {k: v for k, v in section.items() if k not in ("driver", "host", "port", "name")}
    return DeviceConfig(
        str(section.get("name", f"{kind}-1")),
        driver,
        str(section.get("host", "127.0.0.1")),
        port,
        options,
    )


def parse_line_file(data: dict[str, Any]) -> LineFile:
    _register_opcua()
    line = data.get("line")
    if not isinstance(line, dict) or "id" not in line:
        raise ValidationError("line.id", "every line file names its line")
    artwork = str(line.get("artwork", "us-dscsa"))
    if artwork not in ARTWORK:
        raise ValidationError("line.artwork", f"unknown template {artwork!r}")
    numbers: dict[str, Any] = {}
    for key, low, high in (
        ("grade_threshold", 0.0, 4.0),
        ("decision_budget_ms", 1, 60_000),
        ("reject_budget_ms", 1, 60_000),
        ("print_budget_ms", 1, 600_000),
        ("case_size", 1, 10_000),
        ("pallet_size", 1, 10_000),
        ("window", 1, 10_000),
        ("station_settle_ms", 1, 600_000),
        ("case_inspect_budget_ms", 1, 600_000),
        ("label_reprints", 0, 100),
    ):
        if key in line:
            value = line[key]
            if not isinstance(value, int | float) or not low <= value <= high:
                raise ValidationError(f"line.{key}", f"must be between {low} and {high}")
            numbers[key] = value
    member_state = line.get("member_state")
    if member_state is not None:
        member_state = str(member_state).upper()
        national_rule(artwork, member_state)  # a known template
    config = LineConfig(
        line_id=str(line["id"]), artwork=artwork, member_state=member_state, **numbers
    )
    given = [kind for kind in STATION_KINDS if kind in data.get("devices", {})]
    if given and len(given) < len(STATION_KINDS):
        missing = ", ".join(f"devices.{k}" for k in STATION_KINDS if k not in given)
        raise ValidationError(
            "devices", f"aggregation stations come all four or none: missing {missing}"
        )
    stations = {kind: _device(data, kind, STATION_KINDS[kind]) for kind in given} or None
    for kind, drivers in OPTIONAL_STATION_KINDS.items():
        if kind in data.get("devices", {}):
            if stations is None:
                raise ValidationError(
                    f"devices.{kind}", "a case camera needs the aggregation stations"
                )
            stations[kind] = _device(data, kind, drivers)
    return LineFile(
        config,
        _device(data, "printer", PRINTER_DRIVERS),
        _device(data, "camera", CAMERA_DRIVERS),
        _device(data, "gate", GATE_DRIVERS),
        stations,
    )


def load_line_file(path: Path) -> LineFile:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read line file {path}: {exc}") from exc
    return parse_line_file(data)
