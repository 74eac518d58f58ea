from __future__ import annotations

from collections.abc import Callable
from datetime import date
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from line_bridge.bridge import Batch
from line_bridge.linefile import LineFile, parse_line_file
from serialtrace.gs1.keys import make_sscc

GTIN = "00312345678906"


def line_file(**line: Any) -> LineFile:
    printer = line.pop("printer", "jsonl")
    camera = line.pop("camera", "jsonl")  # jsonl | opcua
    gate = line.pop("gate", "jsonl")  # jsonl | opcua
    return parse_line_file(
        {
            "line": {"id": "LINE-T", "case_size": 10, "pallet_size": 4, **line},
            "devices": {
                "printer": {"driver": printer, "name": "PRN-T"},
                "camera": {"driver": camera, "name": "CAM-T"},
                "gate": {"driver": gate, "name": "REJ-T"},
            },
        }
    )


def batch(n: int, work_order_id: str = "WO-T") -> Batch:
    return Batch(
        work_order_id,
        GTIN,
        "12345-678-90",
        "LOT1",
        date(2028, 10, 31),
        [f"{i:012d}" for i in range(1, n + 1)],
    )


def sscc() -> Callable[[str], str]:
    numbers = count(1)
    return lambda level: make_sscc("0312345", 0 if level == "case" else 1, next(numbers))


@pytest.fixture
def raw_line(tmp_path: Path) -> Path:
    return tmp_path / "raw" / "line"
