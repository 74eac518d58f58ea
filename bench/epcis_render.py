"""Benchmark: render and validate a DSCSA shipping file in EPCIS 1.2 XML, 2.0 XML and
2.0 JSON-LD.

At ``--scale 1``: 1,000,000 items in 50,000 cases on 1,250 pallets. Events: commissioning
of the units (one event per case, lot and expiry ILMD), commissioning of each pallet's
SSCCs, packing (one event per case, one per pallet), the shipping event. Each format is
rendered by the production path (:func:`epcis.writers.write_document`: event hashes,
streaming writer, validation against the official XSD / JSON schema) in a child process
whose peak RSS is read from the OS. Printed: seconds, items/s, EPCs/s (every EPC written),
peak memory, the ratio to writing the same number of bytes to disk, and (``--baseline``)
the ratio to a naive renderer (one lxml tree for the whole document, validated with
xmlschema). The figures come last as one JSON line.

    python bench/epcis_render.py --scale 0.01 --baseline
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from epcis.event_hash import Node
from epcis.model import (
    AggregationEvent,
    DocumentHeader,
    Event,
    Location,
    ObjectEvent,
    ProductClass,
)
from epcis.neutral import event_node, header_of
from epcis.writers import FORMATS, write_document

SITE = "urn:epc:id:sgln:0312345.00001.0"
BUYER = "urn:epc:id:sgln:0614141.00001.0"
CP = "0312345"
CASE_SIZE = 20
PALLET_SIZE = 40
TARGET_EPCS_PER_S = 100_000
TARGET_PEAK_MB = 500


def _header() -> DocumentHeader:
    return DocumentHeader(
        sender_sgln=SITE,
        receiver_sgln=BUYER,
        instance_id="BENCH-1",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        products=(
            ProductClass(
                f"urn:epc:idpat:sgtin:{CP}.067890.*",
                "12345-678-90",
                "US_FDA_NDC",
                "Examplomab",
                "Acme",
                "TABLET",
                "10 mg",
                "30 TABLET",
            ),
        ),
        locations=(
            Location(SITE, "Plant", "1 Main St", "Springfield", "NJ", "07081", "US"),
            Location(BUYER, "Wholesale", "2 Elm Rd", "Columbus", "OH", "43215", "US"),
        ),
        transaction_statement=True,
        legal_notice="Seller has complied with FDCA 581(27).",
    )


def _sscc(n: int) -> str:
    return f"urn:epc:id:sscc:{CP}.{n:010d}"


def events(items: int) -> Iterator[Event]:
    t = datetime(2026, 1, 1, 8, tzinfo=UTC)
    cases = items // CASE_SIZE
    pallets = max(1, cases // PALLET_SIZE)
    expiry = date(2028, 1, 31)
    for case in range(cases):
        yield ObjectEvent(
            t + timedelta(seconds=case),
            "ADD",
            "commissioning",
            "active",
            tuple(
                f"urn:epc:id:sgtin:{CP}.067890.{case * CASE_SIZE + i:012d}"
                for i in range(CASE_SIZE)
            ),
            SITE,
            SITE,
            lot="LOT1",
            expiry=expiry,
        )
    for pallet in range(pallets):
        first = pallet * PALLET_SIZE
        yield ObjectEvent(
            t + timedelta(hours=20, seconds=pallet),
            "ADD",
            "commissioning",
            "active",
            (
                _sscc(1_000_000 + pallet),
                *(_sscc(first + c) for c in range(PALLET_SIZE) if first + c < cases),
            ),
            SITE,
            SITE,
        )
    for case in range(cases):
        yield AggregationEvent(
            t + timedelta(hours=30, seconds=case),
            "ADD",
            "packing",
            "in_progress",
            _sscc(case),
            tuple(
                f"urn:epc:id:sgtin:{CP}.067890.{case * CASE_SIZE + i:012d}"
                for i in range(CASE_SIZE)
            ),
            SITE,
            SITE,
        )
    for pallet in range(pallets):
        first = pallet * PALLET_SIZE
        yield AggregationEvent(
            t + timedelta(hours=50, seconds=pallet),
            "ADD",
            "packing",
            "in_progress",
            _sscc(1_000_000 + pallet),
            tuple(_sscc(first + c) for c in range(PALLET_SIZE) if first + c < cases),
            SITE,
            SITE,
        )
    yield ObjectEvent(
        t + timedelta(hours=60),
        "OBSERVE",
        "shipping",
        "in_transit",
        tuple(_sscc(1_000_000 + p) for p in range(pallets)),
        SITE,
        None,
        biz_transactions=(("po", "urn:epcglobal:cbv:bt:0614141000012:PO-1"),),
        sources=(("owning_party", SITE),),
        destinations=(("owning_party", BUYER),),
    )


def _nodes(items: int) -> Iterator[Node]:
    return (event_node(e) for e in events(items))


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _run_format(fmt: str, items: int, folder: str, queue: Any) -> None:
    load_before = os.getloadavg()[0]
    cpu_before = _cpu(resource.RUSAGE_SELF)
    started = time.perf_counter()
    stats = write_document(Path(folder) / f"bench.{fmt}", header_of(_header()), _nodes(items), fmt)
    seconds = time.perf_counter() - started
    cpu = _cpu(resource.RUSAGE_SELF) - cpu_before
    validator_cpu = _cpu(resource.RUSAGE_CHILDREN)  # the concurrent XSD validation, if any
    queue.put(
        {
            "seconds": seconds,
            "cpu_s": round(cpu, 2),
            "validator_cpu_s": round(validator_cpu, 2),
            "events": stats.events,
            "epcs": stats.epcs,
            "bytes": stats.bytes_written,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "validator_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
    )


def _in_child(target: Any, *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    return result


def _raw_write_seconds(size: int, folder: str) -> float:
    block = os.urandom(1 << 20)
    started = time.perf_counter()
    with (Path(folder) / "raw.bin").open("wb") as handle:
        for _ in range(size // len(block) + 1):
            handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())
    return time.perf_counter() - started


def _naive(items: int, folder: str, queue: Any) -> None:
    """Whole document as one lxml tree, then xmlschema validation (2.0 XML)."""
    import xmlschema
    from lxml import etree

    from epcis.event_hash import event_hash
    from epcis.formats import to_xml_20
    from serialtrace.settings import require_conformance_file

    started = time.perf_counter()
    root = etree.Element(
        "{urn:epcglobal:epcis:xsd:2}EPCISDocument",
        {"schemaVersion": "2.0", "creationDate": "2026-01-01T00:00:00Z"},
        nsmap={"epcis": "urn:epcglobal:epcis:xsd:2"},
    )
    event_list = etree.SubElement(etree.SubElement(root, "EPCISBody"), "EventList")
    for node in _nodes(items):
        event_list.append(to_xml_20(node, event_hash(node)))
    path = Path(folder) / "naive.xml"
    etree.ElementTree(root).write(str(path), xml_declaration=True, encoding="UTF-8")
    xsd = require_conformance_file("epcis-2.0/EPCglobal-epcis-2_0.xsd")
    schema = xmlschema.XMLSchema10(str(xsd))
    schema.validate(str(path))
    queue.put(
        {
            "seconds": time.perf_counter() - started,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01, help="1 = 1,000,000 items")
    parser.add_argument("--baseline", action="store_true", help="also run the naive renderer")
    parser.add_argument(
        "--baseline-items",
        type=int,
        default=20_000,
        help="items for the naive renderer and the side-by-side run of ours (xmlschema is slow)",
    )
    args = parser.parse_args()
    items = max(CASE_SIZE * PALLET_SIZE, int(1_000_000 * args.scale) // CASE_SIZE * CASE_SIZE)
    figures: dict[str, Any] = {"scale": args.scale, "items": items, "cpus": os.cpu_count()}
    figures["targets"] = {"epcs_per_s": TARGET_EPCS_PER_S, "peak_mb": TARGET_PEAK_MB}
    with tempfile.TemporaryDirectory(prefix="bench-epcis-") as folder:
        for fmt in FORMATS:
            result = _in_child(_run_format, fmt, items, folder)
            raw = _raw_write_seconds(result["bytes"], folder)
            result["raw_write_s"] = round(raw, 3)
            result["items_per_s"] = round(items / result["seconds"])
            result["epcs_per_s"] = round(result["epcs"] / result["seconds"])
            # what the EPC rate would be with the machine to ourselves: EPCs per CPU second
            # of the writer, the validator running beside it on the other core
            result["epcs_per_cpu_s"] = round(result["epcs"] / result["cpu_s"])
            result["ratio_to_raw_write"] = round(result["seconds"] / raw, 1)
            result["target_met"] = (
                result["epcs_per_s"] >= TARGET_EPCS_PER_S
                and result["peak_mib"] + result["validator_peak_mib"] <= TARGET_PEAK_MB / 1.048576
            )
            figures[fmt] = result
            print(
                f"{fmt:11} {result['seconds']:8.1f} s  {result['items_per_s']:>9,} items/s  "
                f"{result['epcs_per_s']:>9,} EPCs/s ({result['epcs_per_cpu_s']:,}/CPU s)  "
                f"peak {result['peak_mib']:4.0f}+{result['validator_peak_mib']:.0f} MiB  "
                f"{result['bytes'] / 2**20:7.1f} MiB  x{result['ratio_to_raw_write']} raw write  "
                f"load {result['load_avg_1m']}",
                flush=True,
            )
        if args.baseline:
            size = min(items, args.baseline_items)
            naive = _in_child(_naive, size, folder)
            ours = _in_child(_run_format, "2.0-xml", size, folder)
            naive["items"] = size
            naive["ours_seconds_same_items"] = round(ours["seconds"], 3)
            figures["naive_2.0_xml"] = naive
            figures["2.0-xml"]["ratio_to_naive"] = round(ours["seconds"] / naive["seconds"], 3)
            print(
                f"naive 2.0   {naive['seconds']:8.1f} s  peak {naive['peak_mib']:6.0f} MiB "
                f"(one lxml tree + xmlschema, {size:,} items; ours {ours['seconds']:.2f} s: "
                f"x{figures['2.0-xml']['ratio_to_naive']})",
                flush=True,
            )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
