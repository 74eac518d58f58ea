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
import itertools
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import duckdb
import pyarrow as pa

from alerts.locks import QuarantineLocks, container_key, item_key
from epcis.documents import Vocabulary
from epcis.event_hash import Node
from epcis.formats import cbv_word
from epcis.from_warehouse import (
    aggregation_events,
    as_utc,
    build_header,
    container_commissioning,
    load_locations,
    query_rows,
    sgln_of,
    unit_commissioning,
    unpacking_event,
)
from epcis.inbound import canonical_epc, inbound_dir, node_from_json
from epcis.model import AggregationEvent, DocumentHeader, Event, ObjectEvent
from epcis.neutral import VTYPE_LOCATION, event_node, header_of, self_contained
from epcis.writers import FORMATS, SUFFIX, DocumentStats, write_document, write_events
from partners.config import load_history_products
from serialtrace.errors import SerialtraceError
from serialtrace.gs1.epc import sgtin_uri, sscc_uri
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
    return query_rows(
        con,
        "select parent_sscc, parent_level, child_level, child_gtin, child_serial, child_sscc, "
        "child_key, case_sscc, pallet_sscc, aggregated_at from aggregation_hierarchy "
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
        orders = query_rows(
            con, "select * from dim_work_orders where work_order_id = ?", work_order_id
        )
        if not orders:
            raise ShipmentRefusedError(f"work order {work_order_id} is not in the warehouse")
        order = orders[0]
        known = {
            r["gln"]
            for r in query_rows(
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
            for r in query_rows(
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
        units = query_rows(
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
        return query_rows(con, "select * from read_parquet(?) order by sscc", str(path))


def _bt(gln: str, number: str) -> str:
    """``urn:epcglobal:cbv:bt:<GLN>:<number>`` (CBV business transaction identifier)."""
    return f"urn:epcglobal:cbv:bt:{gln}:{number}"


def _rework(
    con: duckdb.DuckDBPyConnection, work_order_id: str, child_keys: list[str]
) -> list[dict[str, Any]]:
    """Rework moves of the shipped children: each unpacking (``DELETE`` of the line's
    aggregation stream) with the time the child had been packed into that parent."""
    if not child_keys:
        return []
    return query_rows(
        con,
        "select d.parent_sscc, d.parent_level, d.child_serial, d.child_sscc, d.aggregated_at, "
        "(select max(a.aggregated_at) from stg_line__aggregations a "
        " where a.work_order_id = d.work_order_id and a.child_key = d.child_key "
        " and a.parent_sscc = d.parent_sscc and a.action = 'ADD' "
        " and a.aggregated_at <= d.aggregated_at) as packed_at "
        "from stg_line__aggregations d where d.work_order_id = ? and d.action = 'DELETE' "
        "and list_contains(?, d.child_key) order by d.aggregated_at, d.child_key",
        work_order_id,
        child_keys,
    )


def _shipment_master_data(
    con: duckdb.DuckDBPyConnection, first: Mapping[str, Any], receiver_gln: str | None = None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """The work order, product and locations (both parties' and sites', and the receiver's
    when named) of a shipment, from its first row."""
    order = query_rows(
        con, "select * from dim_work_orders where work_order_id = ?", first["work_order_id"]
    )[0]
    product = query_rows(con, "select * from dim_products where gtin = ?", order["gtin"])[0]
    glns = {
        first["source_party_gln"],
        first["source_location_gln"],
        first["destination_party_gln"],
        first["destination_location_gln"],
        *([receiver_gln] if receiver_gln else []),
    }
    return order, product, load_locations(con, glns)


def shipment_document(
    home: Home, shipment_id: str, *, receiver_gln: str | None = None
) -> tuple[DocumentHeader, Iterator[Event], dict[str, int]]:
    """Header and events of the DSCSA shipping file of a recorded shipment."""
    rows = load_shipment(home, shipment_id)
    first = rows[0]
    work_order_id = first["work_order_id"]
    ssccs = [r["sscc"] for r in rows]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        order, product, locations = _shipment_master_data(con, first, receiver_gln)
        links = _contents(con, work_order_id, ssccs)
        containers = query_rows(
            con,
            "select sscc, level, commissioned_at from containers where work_order_id = ? "
            "and (list_contains(?, sscc) or list_contains(?, parent_sscc)) order by level, sscc",
            work_order_id,
            ssccs,
            ssccs,
        )
        units = query_rows(
            con,
            "select serial, case_sscc, inspected_at from serial_lifecycle where work_order_id = ? "
            "and (list_contains(?, pallet_sscc) or list_contains(?, case_sscc)) "
            "order by case_sscc, serial",
            work_order_id,
            ssccs,
            ssccs,
        )

        rework = _rework(con, work_order_id, [link["child_key"] for link in links])
        known = {c["sscc"] for c in containers}
        old_parents = sorted({r["parent_sscc"] for r in rework} - known)
        if old_parents:  # a container a child was unpacked from, not shipped itself
            containers += query_rows(
                con,
                "select sscc, level, commissioned_at from containers "
                "where work_order_id = ? and list_contains(?, sscc)",
                work_order_id,
                old_parents,
            )

    def sgln(gln: str) -> str:
        return sgln_of(locations, gln)

    cpl = int(product["company_prefix_length"])
    gtin = product["gtin"]
    site = sgln(order["site_gln"])
    header = build_header(
        first["source_party_gln"],
        receiver_gln or first["destination_party_gln"],
        instance_id=shipment_id,
        products=(product,),
        locations=locations,
        transaction_statement=True,
        legal_notice=LEGAL_NOTICE,
    )
    counts = {
        "units": len(units),
        "cases": sum(1 for c in containers if c["level"] == "case" and c["sscc"] in known),
        "pallets": sum(1 for c in containers if c["level"] == "pallet" and c["sscc"] in known),
        "rework_moves": len(rework),
    }

    def events() -> Iterator[Event]:
        # commissioning of the units, one event per case (lot and expiry as ILMD)
        by_case: dict[str, list[dict[str, Any]]] = {}
        for unit in units:
            by_case.setdefault(unit["case_sscc"] or "", []).append(unit)
        for members in by_case.values():
            yield unit_commissioning(members, gtin, cpl, site, order)
        if containers:
            yield container_commissioning(containers, cpl, site)
        for move in rework:  # packed, then unpacked in rework, before the current packing
            parent = sscc_uri(move["parent_sscc"], cpl)
            child = (
                sgtin_uri(gtin, move["child_serial"], cpl)
                if move["child_serial"] is not None
                else sscc_uri(move["child_sscc"], cpl)
            )
            yield AggregationEvent(
                event_time=as_utc(move["packed_at"]),
                action="ADD",
                biz_step="packing",
                disposition="in_progress",
                parent_id=parent,
                child_epcs=(child,),
                read_point=site,
                biz_location=site,
            )
            yield unpacking_event(as_utc(move["aggregated_at"]), parent, (child,), site)
        yield from aggregation_events(links, gtin, cpl, site)
        parties = (
            ("owning_party", first["source_party_gln"], first["destination_party_gln"]),
            ("location", first["source_location_gln"], first["destination_location_gln"]),
        )
        transactions = [("desadv", _bt(first["source_party_gln"], first["despatch_advice"]))]
        if first["po_number"]:
            transactions.insert(0, ("po", _bt(first["destination_party_gln"], first["po_number"])))
        yield ObjectEvent(
            event_time=as_utc(first["despatched_at"]),
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
    history_events: int = 0  # prior transactions carried as Transaction History
    transaction_history: bool = False  # the Transaction History was asked for or required
    history_required_by: tuple[str, ...] = ()  # the [products] entries that required it


class TransactionHistoryRequiredError(SerialtraceError):
    """A render asked for no Transaction History of a product that requires it."""


def history_required_by(home: Home, shipment_id: str) -> tuple[str, ...]:
    """The ``[products]`` entries of partners.toml (:class:`partners.config.HistoryProducts`)
    that require the Transaction History for what ``shipment_id`` ships, checked against
    the product master ``dim_products`` (an entry naming no known product is an error)."""
    products = load_history_products(home)
    if not products:
        return ()
    work_orders = sorted({r["work_order_id"] for r in load_shipment(home, shipment_id)})
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        master = query_rows(con, "select gtin, ndc11 from dim_products order by gtin")
        shipped = query_rows(
            con,
            "select distinct gtin from dim_work_orders where list_contains(?, work_order_id)",
            work_orders,
        )
    return products.required_by(
        {r["gtin"] for r in shipped}, [(r["gtin"], r["ndc11"]) for r in master]
    )


@dataclass(frozen=True)
class TransactionHistory:
    """Prior transactions of the shipped identifiers (see :func:`transaction_history`)."""

    events: tuple[Node, ...]
    locations: tuple[tuple[str, list[Node]], ...]  # Location master data (SGLN, attributes)
    files: tuple[str, ...]  # inbound file ids they came from


def _places(node: Node) -> set[str]:
    found: set[str] = set()
    for child in node.children:
        if child.name in ("readPoint", "bizLocation") and child.children:
            found.add(child.children[0].text)
        if child.name in ("sourceList", "destinationList"):
            found.update(member.text for member in child.children)
    return found


def transaction_history(home: Home, epcs: set[str]) -> TransactionHistory:
    """The Transaction History of the identifiers ``epcs`` (EPC URNs or Digital Links):
    every shipping event of a prior owner loaded from its EPCIS files
    (``raw/epcis_inbound``, :mod:`epcis.inbound`) naming one of them, unchanged (same
    CBV 2.0 hash) and oldest first, with the Location master data those files carried
    for the places and parties the events name. A product we made ourselves has no prior
    transaction: its history is the Transaction Information of this shipment."""
    files = sorted(inbound_dir(home).glob("file=*/events.parquet"))
    keys = sorted({k for k in (canonical_epc(e) for e in epcs) if k is not None})
    if not files or not keys:
        return TransactionHistory((), (), ())
    folders = [str(f.parent) for f in files]
    with duckdb.connect() as con:
        rows = query_rows(
            con,
            "select distinct e.file_id, e.event_index, e.biz_step, e.event_time, e.event_json "
            "from read_parquet(?, union_by_name = true) e "
            "join read_parquet(?, union_by_name = true) p "
            "on p.file_id = e.file_id and p.event_index = e.event_index "
            "where list_contains(?, p.epc_digital_link) "
            "order by e.event_time, e.file_id, e.event_index",
            [f"{d}/events.parquet" for d in folders],
            [f"{d}/epcs.parquet" for d in folders],
            keys,
        )
        shipping = [r for r in rows if cbv_word("bizstep", r["biz_step"] or "") == "shipping"]
        for row in shipping:
            if row["event_json"] is None:
                raise SerialtraceError(
                    f"inbound file {row['file_id']} was loaded before events kept their whole "
                    "event (event_json): ingest it again to carry its Transaction History"
                )
        events = tuple(node_from_json(r["event_json"]) for r in shipping)
        ids = sorted({r["file_id"] for r in shipping})
        places = sorted(set().union(*(_places(n) for n in events))) if events else []
        master = (
            query_rows(
                con,
                "select element_id, attribute_id, value from read_parquet(?, union_by_name "
                "= true) where list_contains(?, file_id) and vocabulary_type = ? "
                "and list_contains(?, element_id) order by element_id, file_id, attribute_id",
                [f"{inbound_dir(home)}/file={i}/masterdata.parquet" for i in ids],
                ids,
                VTYPE_LOCATION,
                places,
            )
            if places
            else []
        )
    locations: dict[str, dict[str, str]] = {}
    for m in master:  # first file's value of an attribute wins
        locations.setdefault(m["element_id"], {}).setdefault(m["attribute_id"], m["value"] or "")
    return TransactionHistory(
        events,
        tuple(
            (sgln, [Node(attribute, value) for attribute, value in attributes.items()])
            for sgln, attributes in sorted(locations.items())
        ),
        tuple(ids),
    )


def _shipped_epcs(header: DocumentHeader, events: list[Event]) -> set[str]:
    found: set[str] = set()
    for event in events:
        if isinstance(event, ObjectEvent):
            found.update(event.epcs)
        else:
            found.update((event.parent_id, *event.child_epcs))
    return found


def render_shipment(
    home: Home,
    shipment_id: str,
    formats: tuple[str, ...],
    *,
    receiver_gln: str | None = None,
    outbox: Path | None = None,
    transaction_history: bool | None = None,
) -> RenderedShipment:
    """Write the shipping file of ``shipment_id`` in each format (validated) to
    ``<outbox>/shipments/<shipment_id>/<shipment_id>.epcis-<version>.<ext>``. With the
    DSCSA Transaction History the prior owners' shipping events of what is shipped
    (:func:`transaction_history`) come first. It is carried when ``transaction_history``
    is true (the partner or the user asks for it) or a shipped product requires it
    (:func:`history_required_by`); ``False`` asks for none, and is refused with
    :class:`TransactionHistoryRequiredError` when a shipped product requires it (the
    product requirement wins); ``None`` leaves it to the products."""
    required = history_required_by(home, shipment_id)
    if transaction_history is False and required:
        raise TransactionHistoryRequiredError(
            f"transaction_history: no Transaction History was asked for, but shipment "
            f"{shipment_id} ships a product that requires it ({'; '.join(required)}); "
            "the product requirement wins: render it with the history, or remove the "
            "product from [products] in partners.toml"
        )
    wanted = bool(transaction_history) or bool(required)
    folder = (outbox or home.epcis_outbox) / "shipments" / shipment_id
    documents = []
    counts: dict[str, int] = {}
    history = TransactionHistory((), (), ())
    if wanted:
        header, ours, _ = shipment_document(home, shipment_id, receiver_gln=receiver_gln)
        history = transaction_history_of(home, header, list(ours))
    for fmt in formats:
        header, events, counts = shipment_document(home, shipment_id, receiver_gln=receiver_gln)
        path = folder / f"{shipment_id}{SUFFIX[fmt]}"
        if not history.events:
            documents.append(write_events(path, header, events, fmt))
            continue
        neutral = header_of(header, fmt)
        known = {key for v in neutral.vocabularies for key, _ in v.elements}
        extra = [(k, a) for k, a in history.locations if k not in known]
        if extra:
            target = next((v for v in neutral.vocabularies if v.type == VTYPE_LOCATION), None)
            if target is None:
                neutral.vocabularies.append(Vocabulary(VTYPE_LOCATION, extra))
            else:
                target.elements.extend(extra)
        nodes = itertools.chain(
            history.events, (event_node(e) for e in self_contained(header, events))
        )
        documents.append(write_document(path, neutral, nodes, fmt))
    return RenderedShipment(
        shipment_id, tuple(documents), counts, len(history.events), wanted, required
    )


def transaction_history_of(
    home: Home, header: DocumentHeader, events: list[Event]
) -> TransactionHistory:
    """:func:`transaction_history` of every identifier a shipping file names."""
    return transaction_history(home, _shipped_epcs(header, events))


# --- receiving ------------------------------------------------------------------------


def receipt_document(
    home: Home,
    shipment_id: str,
    *,
    received_at: datetime,
    returned: bool = False,
    rma: str | None = None,
    disposition: str = "in_progress",
) -> tuple[DocumentHeader, list[Event]]:
    """The receiving event of a recorded shipment (ObjectEvent ``OBSERVE``, ``receiving``,
    ``disposition`` — ``in_progress`` by default — on the shipped containers):

    - the consignee's receipt (a customer confirming, a CMO client's goods received):
      at the ship-to location, same PO and despatch advice, source and destination as
      shipped; sent by the buyer to the seller;
    - ``returned``: the goods come back to the ship-from site (source and destination
      mirrored, the return authorisation ``rma`` as a ``rma`` business transaction);
      sent by us to the customer.
    """
    if received_at.tzinfo is None:
        raise SerialtraceError("received_at must be timezone-aware")
    rows = load_shipment(home, shipment_id)
    first = rows[0]
    if received_at < first["despatched_at"]:
        raise SerialtraceError(
            f"received_at {received_at.isoformat()} is before the shipment left "
            f"({first['despatched_at'].isoformat()})"
        )
    if rma is not None and not returned:
        raise SerialtraceError("rma (return authorisation) belongs to a return: set returned")
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        _, product, locations = _shipment_master_data(con, first)
    cpl = int(product["company_prefix_length"])
    seller = (first["source_party_gln"], first["source_location_gln"])
    buyer = (first["destination_party_gln"], first["destination_location_gln"])
    origin, target = (buyer, seller) if returned else (seller, buyer)
    transactions = [("desadv", _bt(first["source_party_gln"], first["despatch_advice"]))]
    if first["po_number"]:
        transactions.insert(0, ("po", _bt(first["destination_party_gln"], first["po_number"])))
    if rma is not None:
        transactions.append(("rma", _bt(first["source_party_gln"], rma)))
    place = sgln_of(locations, target[1])
    event = ObjectEvent(
        event_time=received_at,
        action="OBSERVE",
        biz_step="receiving",
        disposition=disposition,
        epcs=tuple(sscc_uri(r["sscc"], cpl) for r in rows),
        read_point=place,
        biz_location=place,
        biz_transactions=tuple(transactions),
        sources=(
            ("owning_party", sgln_of(locations, origin[0])),
            ("location", sgln_of(locations, origin[1])),
        ),
        destinations=(
            ("owning_party", sgln_of(locations, target[0])),
            ("location", sgln_of(locations, target[1])),
        ),
    )
    sender, receiver = (seller[0], buyer[0]) if returned else (buyer[0], seller[0])
    header = build_header(
        sender,
        receiver,
        instance_id=f"{shipment_id}-{'return' if returned else 'receipt'}",
        products=(product,),
        locations=locations,
    )
    return header, [event]


def render_receipt(
    home: Home,
    shipment_id: str,
    formats: tuple[str, ...] = FORMATS,
    *,
    received_at: datetime,
    returned: bool = False,
    rma: str | None = None,
    disposition: str = "in_progress",
    outbox: Path | None = None,
) -> tuple[DocumentStats, ...]:
    """Write the receiving document of a shipment (:func:`receipt_document`) in each format,
    validated, to ``<outbox>/receipts/<shipment_id>/<shipment_id>-receipt|return.epcis-…``."""
    header, events = receipt_document(
        home,
        shipment_id,
        received_at=received_at,
        returned=returned,
        rma=rma,
        disposition=disposition,
    )
    folder = (outbox or home.epcis_outbox) / "receipts" / shipment_id
    return tuple(
        write_events(folder / f"{header.instance_id}{SUFFIX[fmt]}", header, events, fmt)
        for fmt in formats
    )


__all__ = [
    "SHIPMENT_SCHEMA",
    "SHIPMENT_TABLES",
    "RenderedShipment",
    "Shipment",
    "ShipmentRefusedError",
    "TransactionHistory",
    "TransactionHistoryRequiredError",
    "history_required_by",
    "receipt_document",
    "record_shipment",
    "render_receipt",
    "render_shipment",
    "shipment_document",
    "transaction_history",
]
