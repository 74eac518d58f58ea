"""Raw zones for the incremental-build tests: the demo scenario in two stages.

Stage 1 (the warehouse is built once): master data of all three work orders, WO-1001 run
on the line (no rework yet), WO-1002 planned but not started (every stream an empty file,
no allocation yet), WO-1003 allocated but not started.

Stage 2 (an incremental build follows): WO-1002 runs; WO-1001 gets its rework (the
aggregate file rewritten) and, later still, lifecycle events recorded after the line -
one full case destroyed and the retention sample decommissioned; batch close of WO-1002
(its 9 unprinted serials). WO-1003 does not change.

:func:`apply_stage` copies into a raw zone only the files whose bytes differ, as the
line bridge and the lifecycle writers touch only what they write.
"""

from __future__ import annotations

import filecmp
import shutil
from datetime import timedelta
from pathlib import Path

from rawzone import DemoZone, RawZone, Row, demo_raw_zone

DESTROYED_CASE = 3  # index of the case of WO-1001 destroyed after the line (10 items)


def stage_one() -> RawZone:
    demo = demo_raw_zone()
    zone = demo.zone
    zone.line["aggregate"]["WO-1001"] = zone.line["aggregate"]["WO-1001"][:-5]  # no rework
    for stream in zone.line:
        zone.line[stream].pop("WO-1002", None)
    zone.allocations.pop("WO-1002")
    return zone


def lifecycle_events(demo: DemoZone) -> list[Row]:
    wo1, wo2 = demo.wo1, demo.wo2
    spec1, spec2 = wo1.spec, wo2.spec
    later = wo1.ended_at + timedelta(days=2)
    case = wo1.cases[DESTROYED_CASE]
    rows: list[Row] = []

    def event(
        spec_gtin: str,
        serial: str,
        wo: str,
        from_status: str,
        reason: str,
        scope: str,
        scope_id: str,
        user: str,
        source: str,
        request: str,
        at: object,
    ) -> Row:
        return {
            "event_id": f"{request}-{len(rows) + 1:03d}",
            "request_id": request,
            "gtin": spec_gtin,
            "serial": serial,
            "work_order_id": wo,
            "from_status": from_status,
            "to_status": "decommissioned",
            "reason": reason,
            "scope": scope,
            "scope_id": scope_id,
            "location_gln": spec1.site_gln if source == "cli" else None,
            "recorded_by": user,
            "source": source,
            "occurred_at": at,
            "recorded_at": at,
        }

    for serial in wo1.case_items[case]:
        rows.append(
            event(
                spec1.gtin,
                serial,
                "WO-1001",
                "aggregated",
                "destroyed",
                "case",
                case,
                "qa.jane",
                "cli",
                "REQ-DESTROY",
                later,
            )
        )
    rows.append(
        event(
            spec1.gtin,
            demo.sampled_serial,
            "WO-1001",
            "commissioned",
            "sample",
            "serial",
            f"(01){spec1.gtin}(21){demo.sampled_serial}",
            "qa.joe",
            "cli",
            "REQ-SAMPLE",
            later + timedelta(hours=1),
        )
    )
    for serial in wo2.serials[spec2.printed :]:
        rows.append(
            event(
                spec2.gtin,
                serial,
                "WO-1002",
                "allocated",
                "unused_at_batch_close",
                "work_order",
                "WO-1002",
                "batch-close",
                "batch_close",
                "REQ-CLOSE-1002",
                wo2.ended_at + timedelta(minutes=5),
            )
        )
    return rows


def stage_two() -> tuple[DemoZone, RawZone]:
    demo = demo_raw_zone()
    demo.zone.lifecycle = lifecycle_events(demo)
    return demo, demo.zone


def apply_stage(source: Path, target: Path) -> list[Path]:
    """Copy every file of ``source`` that is new or different into ``target``."""
    copied = []
    for path in sorted(source.rglob("*.parquet")):
        destination = target / path.relative_to(source)
        if destination.exists() and filecmp.cmp(path, destination, shallow=False):
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        copied.append(destination)
    return copied
