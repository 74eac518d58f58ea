"""Shipments: record what leaves (the raw zone ``raw/shipments``) and render its EPCIS.

:func:`record_shipment` ships the top-level containers (pallets, and cases on no pallet) of
one work order to a trading partner: it refuses any identifier under quarantine (the
containers and everything inside them, :class:`alerts.locks.QuarantineLocks`), writes one
Parquet file ``raw/shipments/part-<shipment_id>.parquet`` (:data:`SHIPMENT_SCHEMA`, one row
per shipped container) and records the *shipped* status of every unit inside as lifecycle
events (``raw/lifecycle/events``), so ``serial_lifecycle`` and ``erp_reconciliation`` see
them shipped after the next warehouse build.

:func:`shipment_events` gives the DSCSA shipping file of a shipment: commissioning (with
lot and expiry ILMD) of every unit and container shipped, the packing events (cases, then
pallets), then the shipping ObjectEvent (OBSERVE, shipping / in_transit, PO and despatch
advice, owning party and location on both sides, no bizLocation); :func:`render_shipment`
writes it in any of the three formats, validated, into the outbox.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa

from alerts.locks import QuarantineLocks, container_key, item_key
from epcis.from_warehouse import aggregation_events, location_of, product_class_of
from epcis.model import DocumentHeader, Event, ObjectEvent
from epcis.neutral import event_node, header_of
from epcis.writers import SUFFIX, DocumentStats, write_document
from serialtrace.errors import SerialtraceError
from serialtrace.gs1.epc import sgln_uri, sgtin_uri, sscc_uri
from serialtrace.io.parquet import rows_to_table, write_atomic
from serialtrace.lifecycle.machine import Status, check_transition
from serialtrace.lifecycle.store import append_events, writer_lock
from serialtrace.settings import Home

TS = pa.timestamp("us", tz="UTC")

SHIPMENT_SCHEMA: Final = pa.schema(
    [
        pa.field("shipment_id", pa.string(), nullable=False),  # SHP-<date>-<8 hex>
        pa.field("despatched_at", TS, nullable=False),  # when the goods left
        pa.field("po_number", pa.string(), nullable=True),  # buyer's purchase order
        pa.field("despatch_advice", pa.string(), nullable=False),  # our DESADV number
        pa.field("source_party_gln", pa.string(), nullable=False),  # seller (owning party)
        pa.field("source_location_gln", pa.string(), nullable=False),  # ship-from site
        pa.field("destination_party_gln", pa.string(), nullable=False),  # buyer
        pa.field("destination_location_gln", pa.string(), nullable=False),  # ship-to site
        pa.field("sscc", pa.string(), nullable=False),  # one top-level container shipped
        pa.field("level", pa.string(), nullable=False),  # pallet | case
        pa.field("work_order_id", pa.string(), nullable=False),
        pa.field("recorded_by", pa.string(), nullable=False),
        pa.field("recorded_at", TS, nullable=False),
    ]
)
SHIPMENT_TABLES: Final[dict[str, pa.Schema]] = {"shipments": SHIPMENT_SCHEMA}
SHIPMENTS_FOLDER: Final = "shipments"
LEGAL_NOTICE: Final = (
    "Seller has complied with each applicable subsection of FDCA Sec. 581(27)(A)-(G)."
)


class ShipmentRefusedError(SerialtraceError):
    """The shipment cannot be recorded (quarantine lock, unknown partner, nothing to ship)."""


@dataclass(frozen=True)
class Shipment:
    shipment_id: str
    work_order_id: str
    despatched_at: datetime
    po_number: str | None
    despatch_advice: str
    source_party_gln: str
    source_location_gln: str
    destination_party_gln: str
    destination_location_gln: str
    containers: tuple[tuple[str, str], ...]  # (sscc, level)
    units: int
    path: Path


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def shipments_dir(home: Home) -> Path:
    return home.raw / SHIPMENTS_FOLDER


def shipped_ssccs(home: Home) -> set[str]:
    """SSCCs already recorded in a shipment."""
    files = sorted(shipments_dir(home).glob("part-*.parquet"))
    if not files:
        return set()
    with duckdb.connect() as con:
        rows = con.execute(
            "select distinct sscc from read_parquet(?)", [[str(f) for f in files]]
        ).fetchall()
    return {str(r[0]) for r in rows}


def _contents(
    con: duckdb.DuckDBPyConnection, work_order_id: str, ssccs: list[str]
) -> list[dict[str, Any]]:
    """Every link under the given top-level containers."""
    return _rows(
        con,
        "select parent_sscc, parent_level, child_level, child_gtin, child_serial, child_sscc, "
        "case_sscc, pallet_sscc, aggregated_at from aggregation_hierarchy "
        "where work_order_id = ? and (list_contains(?, pallet_sscc) "
        "or list_contains(?, case_sscc)) order by parent_level, parent_sscc, child_key",
        work_order_id,
        ssccs,
        ssccs,
    )


def record_shipment(
    home: Home,
    work_order_id: str,
    destination_gln: str,
    *,
    destination_location_gln: str | None = None,
    po_number: str | None = None,
    despatch_advice: str | None = None,
    despatched_at: datetime | None = None,
    user: str | None = None,
) -> Shipment:
    """Ship every top-level container of a work order not shipped yet (see module doc)."""
    when = despatched_at or datetime.now(UTC)
    if when.tzinfo is None:
        raise SerialtraceError("despatched_at must be timezone-aware")
    location_gln = destination_location_gln or destination_gln
    if not home.warehouse.exists():
        raise SerialtraceError(f"no warehouse at {home.warehouse}: materialize it first")
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        orders = _rows(con, "select * from dim_work_orders where work_order_id = ?", work_order_id)
        if not orders:
            raise ShipmentRefusedError(f"work order {work_order_id} is not in the warehouse")
        order = orders[0]
        known = {
            r["gln"]
            for r in _rows(
                con,
                "select gln from dim_locations where list_contains(?, gln)",
                [destination_gln, location_gln],
            )
        }
        for gln in (destination_gln, location_gln):
            if gln not in known:
                raise ShipmentRefusedError(
                    f"--to {gln} is not in dim_locations (the partner's name and address are "
                    "needed for the DSCSA master data): add it to the master data"
                )
        done = shipped_ssccs(home)
        top = [
            r
            for r in _rows(
                con,
                "select sscc, level from containers where work_order_id = ? "
                "and parent_sscc is null order by level desc, sscc",
                work_order_id,
            )
            if r["sscc"] not in done
        ]
        if not top:
            raise ShipmentRefusedError(
                f"work order {work_order_id} has no container left to ship (all shipped or none)"
            )
        ssccs = [r["sscc"] for r in top]
        links = _contents(con, work_order_id, ssccs)
        units = _rows(
            con,
            "select gtin, serial, status, case_sscc, pallet_sscc from serial_lifecycle "
            "where work_order_id = ? "
            "and (list_contains(?, pallet_sscc) or list_contains(?, case_sscc))",
            work_order_id,
            ssccs,
            ssccs,
        )
    inner_ssccs = {link["child_sscc"] for link in links if link["child_sscc"]}
    keys = {container_key(s): s for s in (*ssccs, *inner_ssccs)}
    keys.update({item_key(u["gtin"], u["serial"]): u["serial"] for u in units})
    locks = QuarantineLocks(home.alerts_db).active(keys)
    if locks:
        cases = sorted({lock.case_id for lock in locks.values()})
        sample = ", ".join(sorted(locks)[:3])
        raise ShipmentRefusedError(
            f"refused: {len(locks)} identifier(s) of work order {work_order_id} are locked in "
            f"quarantine case {', '.join(cases)} (e.g. {sample}); release the case or ship "
            "without them"
        )
    for unit in units:
        check_transition(item_key(unit["gtin"], unit["serial"]), unit["status"], Status.SHIPPED)
    shipment_id = f"SHP-{when:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"
    now = datetime.now(UTC)
    who = user or getpass.getuser()
    rows = [
        {
            "shipment_id": shipment_id,
            "despatched_at": when,
            "po_number": po_number,
            "despatch_advice": despatch_advice or shipment_id,
            "source_party_gln": order["site_gln"],
            "source_location_gln": order["site_gln"],
            "destination_party_gln": destination_gln,
            "destination_location_gln": location_gln,
            "sscc": r["sscc"],
            "level": r["level"],
            "work_order_id": work_order_id,
            "recorded_by": who,
            "recorded_at": now,
        }
        for r in top
    ]
    request = str(uuid.uuid4())
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "request_id": request,
            "gtin": u["gtin"],
            "serial": u["serial"],
            "work_order_id": work_order_id,
            "from_status": u["status"],
            "to_status": Status.SHIPPED.value,
            "reason": None,
            "scope": "pallet" if u["pallet_sscc"] in ssccs else "case",
            "scope_id": u["pallet_sscc"] if u["pallet_sscc"] in ssccs else u["case_sscc"],
            "location_gln": order["site_gln"],
            "recorded_by": who,
            "source": "cli",
            "occurred_at": when,
            "recorded_at": now,
        }
        for u in units
    ]
    path = shipments_dir(home) / f"part-{shipment_id}.parquet"
    with writer_lock(home.raw):
        write_atomic(path, rows_to_table(rows, SHIPMENT_SCHEMA))
        try:
            append_events(home.raw, f"shipment-{shipment_id}", events)
        except BaseException:
            path.unlink(missing_ok=True)  # nothing half-recorded
            raise
    return Shipment(
        shipment_id=shipment_id,
        work_order_id=work_order_id,
        despatched_at=when,
        po_number=po_number,
        despatch_advice=despatch_advice or shipment_id,
        source_party_gln=order["site_gln"],
        source_location_gln=order["site_gln"],
        destination_party_gln=destination_gln,
        destination_location_gln=location_gln,
        containers=tuple((r["sscc"], r["level"]) for r in top),
        units=len(units),
        path=path,
    )


def load_shipment(home: Home, shipment_id: str) -> list[dict[str, Any]]:
    path = shipments_dir(home) / f"part-{shipment_id}.parquet"
    if not path.exists():
        raise SerialtraceError(f"shipment {shipment_id} is not recorded ({path} missing)")
    with duckdb.connect() as con:
        return _rows(con, "select * from read_parquet(?) order by sscc", str(path))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _bt(gln: str, number: str) -> str:
    """``urn:epcglobal:cbv:bt:<GLN>:<number>`` (CBV business transaction identifier)."""
    return f"urn:epcglobal:cbv:bt:{gln}:{number}"


def shipment_document(
    home: Home, shipment_id: str, *, receiver_gln: str | None = None
) -> tuple[DocumentHeader, Iterator[Event], dict[str, int]]:
    """Header and events of the DSCSA shipping file of a recorded shipment."""
    rows = load_shipment(home, shipment_id)
    first = rows[0]
    work_order_id = first["work_order_id"]
    ssccs = [r["sscc"] for r in rows]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        order = _rows(con, "select * from dim_work_orders where work_order_id = ?", work_order_id)[
            0
        ]
        product = _rows(con, "select * from dim_products where gtin = ?", order["gtin"])[0]
        glns = sorted(
            {
                first["source_party_gln"],
                first["source_location_gln"],
                first["destination_party_gln"],
                first["destination_location_gln"],
                *([receiver_gln] if receiver_gln else []),
            }
        )
        locations = {
            r["gln"]: r
            for r in _rows(con, "select * from dim_locations where list_contains(?, gln)", glns)
        }
        links = _contents(con, work_order_id, ssccs)
        containers = _rows(
            con,
            "select sscc, level, commissioned_at from containers where work_order_id = ? "
            "and (list_contains(?, sscc) or list_contains(?, parent_sscc)) order by level, sscc",
            work_order_id,
            ssccs,
            ssccs,
        )
        units = _rows(
            con,
            "select serial, case_sscc, inspected_at from serial_lifecycle where work_order_id = ? "
            "and (list_contains(?, pallet_sscc) or list_contains(?, case_sscc)) "
            "order by case_sscc, serial",
            work_order_id,
            ssccs,
            ssccs,
        )
    missing = [g for g in glns if g not in locations]
    if missing:
        raise SerialtraceError(f"locations {', '.join(missing)} are not in dim_locations")

    def sgln(gln: str) -> str:
        return sgln_uri(gln, int(locations[gln]["company_prefix_length"]))

    cpl = int(product["company_prefix_length"])
    gtin = product["gtin"]
    site = sgln(order["site_gln"])
    header = DocumentHeader(
        sender_sgln=sgln(first["source_party_gln"]),
        receiver_sgln=sgln(receiver_gln or first["destination_party_gln"]),
        instance_id=shipment_id,
        created_at=datetime.now(UTC),
        products=(product_class_of(product),),
        locations=tuple(location_of(locations[g]) for g in glns),
        transaction_statement=True,
        legal_notice=LEGAL_NOTICE,
    )
    counts = {
        "units": len(units),
        "cases": sum(1 for c in containers if c["level"] == "case"),
        "pallets": sum(1 for c in containers if c["level"] == "pallet"),
    }

    def events() -> Iterator[Event]:
        # commissioning of the units, one event per case (lot and expiry as ILMD)
        by_case: dict[str, list[dict[str, Any]]] = {}
        for unit in units:
            by_case.setdefault(unit["case_sscc"] or "", []).append(unit)
        for members in by_case.values():
            yield ObjectEvent(
                event_time=_utc(max(u["inspected_at"] for u in members)),
                action="ADD",
                biz_step="commissioning",
                disposition="active",
                epcs=tuple(sgtin_uri(gtin, u["serial"], cpl) for u in members),
                read_point=site,
                biz_location=site,
                lot=order["lot"],
                expiry=order["expiry"],
            )
        if containers:
            yield ObjectEvent(
                event_time=_utc(max(c["commissioned_at"] for c in containers)),
                action="ADD",
                biz_step="commissioning",
                disposition="active",
                epcs=tuple(sscc_uri(c["sscc"], cpl) for c in containers),
                read_point=site,
                biz_location=site,
            )
        yield from aggregation_events(links, gtin, cpl, site)
        parties = (
            ("owning_party", first["source_party_gln"], first["destination_party_gln"]),
            ("location", first["source_location_gln"], first["destination_location_gln"]),
        )
        transactions = [("desadv", _bt(first["source_party_gln"], first["despatch_advice"]))]
        if first["po_number"]:
            transactions.insert(0, ("po", _bt(first["destination_party_gln"], first["po_number"])))
        yield ObjectEvent(
            event_time=_utc(first["despatched_at"]),
            action="OBSERVE",
            biz_step="shipping",
            disposition="in_transit",
            epcs=tuple(sscc_uri(s, cpl) for s in ssccs),
            read_point=sgln(first["source_location_gln"]),
            biz_location=None,
            biz_transactions=tuple(transactions),
            sources=tuple((kind, sgln(src)) for kind, src, _dst in parties),
            destinations=tuple((kind, sgln(dst)) for kind, _src, dst in parties),
        )

    return header, events(), counts


@dataclass(frozen=True)
class RenderedShipment:
    shipment_id: str
    documents: tuple[DocumentStats, ...]
    counts: dict[str, int]


def render_shipment(
    home: Home,
    shipment_id: str,
    formats: tuple[str, ...],
    *,
    receiver_gln: str | None = None,
    outbox: Path | None = None,
) -> RenderedShipment:
    """Write the shipping file of ``shipment_id`` in each format (validated) to
    ``<outbox>/shipments/<shipment_id>/<shipment_id>.epcis-<version>.<ext>``."""
    folder = (outbox or home.epcis_outbox) / "shipments" / shipment_id
    documents = []
    counts: dict[str, int] = {}
    for fmt in formats:
        header, events, counts = shipment_document(home, shipment_id, receiver_gln=receiver_gln)
        path = folder / f"{shipment_id}{SUFFIX[fmt]}"
        documents.append(
            write_document(path, header_of(header, fmt), (event_node(e) for e in events), fmt)
        )
    return RenderedShipment(shipment_id, tuple(documents), counts)


__all__ = [
    "SHIPMENT_SCHEMA",
    "SHIPMENT_TABLES",
    "RenderedShipment",
    "Shipment",
    "ShipmentRefusedError",
    "record_shipment",
    "render_shipment",
    "shipment_document",
]
