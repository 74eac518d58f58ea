"""Build EPCIS documents from the warehouse marts, and write them.

- the batch document of one work order: what the line did (the line status of
  serial_lifecycle, so later decommissioning never rewrites the batch's story);
- decommission documents: the post-line decommissionings recorded as lifecycle events
  (serial_status_history), with bizStep / disposition from the lifecycle mapping
  (serialtrace/lifecycle/cbv.py).

Reads only the marts' contract (serial_lifecycle, serial_status_history, containers,
aggregation_hierarchy, dim_work_orders, dim_products, dim_locations); never the raw zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from epcis.model import AggregationEvent, DocumentHeader, Event, Location, ObjectEvent, ProductClass
from epcis.writers import FORMATS, SUFFIX, DocumentStats, write_events
from serialtrace.errors import SerialtraceError
from serialtrace.gs1.epc import sgln_uri, sgtin_pattern_uri, sgtin_uri, sscc_uri
from serialtrace.lifecycle.cbv import DECOMMISSION_CBV, UNPACKING
from serialtrace.lifecycle.machine import Reason


@dataclass(frozen=True)
class BatchDocument:
    work_order_id: str
    path: Path
    stats: DocumentStats
    commissioned: int
    decommissioned: int
    cases: int
    pallets: int


def query_rows(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    """The rows of a parameterised query as dicts by column name."""
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def as_utc(value: datetime) -> datetime:
    """A warehouse timestamp (naive means UTC) as an aware UTC datetime."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def load_locations(
    con: duckdb.DuckDBPyConnection, glns: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """``dim_locations`` rows of ``glns`` by GLN; every one must be there (its name and
    address are the Location master data of the DSCSA header)."""
    wanted = sorted(set(glns))
    rows = query_rows(con, "select * from dim_locations where list_contains(?, gln)", wanted)
    found = {row["gln"]: row for row in rows}
    missing = [gln for gln in wanted if gln not in found]
    if missing:
        raise SerialtraceError(f"locations {', '.join(missing)} are not in dim_locations")
    return found


def sgln_of(locations: Mapping[str, Mapping[str, Any]], gln: str) -> str:
    """The SGLN URN of a GLN of ``locations`` (its company prefix length from the row)."""
    return sgln_uri(gln, int(locations[gln]["company_prefix_length"]))


def build_header(
    sender_gln: str,
    receiver_gln: str,
    *,
    instance_id: str,
    products: Iterable[Mapping[str, Any]],
    locations: Mapping[str, Mapping[str, Any]],
    created_at: datetime | None = None,
    transaction_statement: bool = False,
    legal_notice: str | None = None,
) -> DocumentHeader:
    """The DSCSA header of one of our documents (shipping, batch, decommission files): SBDH
    sender and receiver as SGLNs, EPCClass master data of every product (``dim_products``
    rows) and Location master data of every location (``dim_locations`` rows by GLN,
    sorted by GLN)."""
    return DocumentHeader(
        sender_sgln=sgln_of(locations, sender_gln),
        receiver_sgln=sgln_of(locations, receiver_gln),
        instance_id=instance_id,
        created_at=created_at or datetime.now(UTC),
        products=tuple(product_class_of(p) for p in products),
        locations=tuple(location_of(locations[gln]) for gln in sorted(locations)),
        transaction_statement=transaction_statement,
        legal_notice=legal_notice,
    )


def render_batch_epcis_12(warehouse: Path, work_order_id: str, outbox: Path) -> BatchDocument:
    """Render and validate the EPCIS 1.2 (DSCSA profile) document of one work order."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        orders = query_rows(
            con, "select * from dim_work_orders where work_order_id = ?", work_order_id
        )
        if not orders:
            raise SerialtraceError(f"work order {work_order_id} is not in the warehouse")
        order = orders[0]
        product = query_rows(con, "select * from dim_products where gtin = ?", order["gtin"])[0]
        locations = load_locations(con, (order["site_gln"], order["customer_gln"]))
        units = query_rows(
            con,
            "select serial, line_status as status, line_status_reason as status_reason, "
            "inspected_at from serial_lifecycle where work_order_id = ? order by seq",
            work_order_id,
        )
        containers = query_rows(
            con,
            "select sscc, level, commissioned_at from containers "
            "where work_order_id = ? order by level, sscc",
            work_order_id,
        )
        links = query_rows(
            con,
            "select parent_sscc, parent_level, child_gtin, child_serial, child_sscc, "
            "aggregated_at from aggregation_hierarchy where work_order_id = ? "
            "order by parent_level, parent_sscc, child_serial, child_sscc",
            work_order_id,
        )
    cpl = int(product["company_prefix_length"])
    site_sgln = sgln_of(locations, order["site_gln"])
    header = build_header(
        order["site_gln"],
        order["customer_gln"],
        instance_id=f"{work_order_id}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}",
        products=(product,),
        locations=locations,
    )
    good = [u for u in units if u["status"] in ("commissioned", "aggregated")]
    rejected = [u for u in units if u["status"] == "decommissioned"]
    gtin = product["gtin"]

    def events() -> Iterator[Event]:
        if good:
            yield unit_commissioning(good, gtin, cpl, site_sgln, order)
        if containers:
            yield container_commissioning(containers, cpl, site_sgln)
        yield from aggregation_events(links, gtin, cpl, site_sgln)
        by_reason: dict[str, list[dict[str, Any]]] = {}
        for unit in rejected:
            by_reason.setdefault(unit["status_reason"], []).append(unit)
        for reason, members in sorted(by_reason.items()):
            yield _units_event(
                members, gtin, cpl, site_sgln, "DELETE", "decommissioning", "inactive",
                reason=reason,
            )  # fmt: skip

    path = outbox / work_order_id / f"{work_order_id}{SUFFIX['1.2-xml']}"
    # validated against the official XSD before it is placed: never an invalid document
    stats = write_events(path, header, events(), "1.2-xml")
    return BatchDocument(
        work_order_id=work_order_id,
        path=path,
        stats=stats,
        commissioned=len(good),
        decommissioned=len(rejected),
        cases=sum(1 for c in containers if c["level"] == "case"),
        pallets=sum(1 for c in containers if c["level"] == "pallet"),
    )


def unit_commissioning(
    units: list[dict[str, Any]], gtin: str, cpl: int, site: str, order: Mapping[str, Any]
) -> ObjectEvent:
    """Commissioning of line units (ObjectEvent ADD, lot and expiry as ILMD), at the time
    the last of them passed inspection."""
    return _units_event(
        units, gtin, cpl, site, "ADD", "commissioning", "active",
        lot=order["lot"], expiry=order["expiry"],
    )  # fmt: skip


def _units_event(
    units: list[dict[str, Any]],
    gtin: str,
    cpl: int,
    site: str,
    action: str,
    biz_step: str,
    disposition: str,
    **extra: Any,
) -> ObjectEvent:
    """One ObjectEvent for line units at the site, at the time the camera decided the
    last of them (commissioning: passed; a line reject's decommissioning: failed)."""
    return ObjectEvent(
        event_time=as_utc(max(u["inspected_at"] for u in units)),
        action=action,
        biz_step=biz_step,
        disposition=disposition,
        epcs=tuple(sgtin_uri(gtin, u["serial"], cpl) for u in units),
        read_point=site,
        biz_location=site,
        **extra,
    )


def container_commissioning(containers: list[dict[str, Any]], cpl: int, site: str) -> ObjectEvent:
    """Commissioning of the SSCCs of cases and pallets, at the last one's time."""
    return ObjectEvent(
        event_time=as_utc(max(c["commissioned_at"] for c in containers)),
        action="ADD",
        biz_step="commissioning",
        disposition="active",
        epcs=tuple(sscc_uri(c["sscc"], cpl) for c in containers),
        read_point=site,
        biz_location=site,
    )


def aggregation_events(
    links: list[dict[str, Any]], gtin: str, cpl: int, site_sgln: str
) -> Iterator[AggregationEvent]:
    """One packing event per parent: cases (items inside) first, then pallets (cases)."""
    parents: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for link in links:
        parents.setdefault((link["parent_level"], link["parent_sscc"]), []).append(link)
    for level in ("case", "pallet"):
        for (parent_level, parent), children in parents.items():
            if parent_level != level:
                continue
            yield AggregationEvent(
                event_time=as_utc(max(c["aggregated_at"] for c in children)),
                action="ADD",
                biz_step="packing",
                disposition="in_progress",
                parent_id=sscc_uri(parent, cpl),
                child_epcs=tuple(
                    sgtin_uri(gtin, c["child_serial"], cpl)
                    if c["child_serial"] is not None
                    else sscc_uri(c["child_sscc"], cpl)
                    for c in children
                ),
                read_point=site_sgln,
                biz_location=site_sgln,
            )


# --- decommission documents ------------------------------------------------------------

DECOMMISSION_FOLDER = "decommissions"


@dataclass(frozen=True)
class DecommissionDocument:
    name: str
    path: Path  # the first format's file
    stats: DocumentStats  # of the first format's file
    requests: tuple[str, ...]  # lifecycle request ids in the document
    decommissioned: int  # unit SGTINs decommissioned
    containers: int  # case / pallet SSCCs decommissioned with their content
    by_reason: dict[str, int]
    documents: tuple[DocumentStats, ...] = ()  # one per format


def product_class_of(product: Mapping[str, Any]) -> ProductClass:
    return ProductClass(
        pattern_uri=sgtin_pattern_uri(product["gtin"], int(product["company_prefix_length"])),
        ndc=product["ndc"],
        ndc_type_code="US_FDA_NDC",
        name=product["product_name"],
        manufacturer=product["manufacturer"],
        dosage_form=product["dosage_form"],
        strength=product["strength"],
        net_content=product["pack_size"],
    )


def location_of(loc: Mapping[str, Any]) -> Location:
    return Location(
        sgln=sgln_uri(loc["gln"], int(loc["company_prefix_length"])),
        name=loc["location_name"],
        street=loc["street"],
        city=loc["city"],
        state=loc["state"],
        postal_code=loc["postal_code"],
        country_code=loc["country_code"],
    )


_DECOMMISSIONS_SQL = """
select h.gtin, h.serial, h.work_order_id, h.reason, h.occurred_at, h.recorded_at,
       h.request_id, h.scope, h.scope_id, h.location_gln, h.recorded_by,
       s.case_sscc, s.pallet_sscc, w.site_gln, w.customer_gln
from serial_status_history h
join serial_lifecycle s on s.unit_key = h.unit_key
join dim_work_orders w on w.work_order_id = h.work_order_id
where h.origin not in ('allocation', 'line') and h.to_status = 'decommissioned'
"""


def decommission_requests(warehouse: Path) -> list[str]:
    """Request ids of every post-line decommissioning in the warehouse, oldest first."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select request_id from serial_status_history where origin not in "
            "('allocation', 'line') and to_status = 'decommissioned' group by request_id "
            "order by min(recorded_at), request_id"
        ).fetchall()
    return [str(r[0]) for r in rows]


def render_decommission(
    warehouse: Path,
    outbox: Path,
    *,
    formats: tuple[str, ...] = ("1.2-xml",),
    request_id: str | None = None,
    since: datetime | None = None,
    receiver_gln: str | None = None,
    name: str | None = None,
) -> DecommissionDocument | None:
    """Render and validate the EPCIS documents (each of ``formats``: ``1.2-xml``,
    ``2.0-xml``, ``2.0-jsonld``) of post-line decommissionings: one request
    (``request_id``), or every one recorded after ``since`` (or all).

    One ObjectEvent ``DELETE`` per request, reason and place, with the bizStep and
    disposition of the reason (serialtrace.lifecycle.cbv); the SSCCs of a decommissioned
    case or pallet go in the same event as their items. A unit taken from a case (serial
    scope) or a case taken from a pallet first gets an unpacking AggregationEvent
    ``DELETE`` (in every format). Reasons that emit nothing (unused at batch close: never
    commissioned) are left out; None when nothing is left. The receiver is the work
    orders' customer unless ``receiver_gln`` is given. Written to
    ``outbox/decommissions/<name>.epcis-<version>.<ext>``.
    """
    for fmt in formats:
        if fmt not in FORMATS:
            raise SerialtraceError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if not formats:
        raise SerialtraceError("formats: name at least one EPCIS format")
    sql, params = _DECOMMISSIONS_SQL, list[Any]()
    if request_id is not None:
        sql += " and h.request_id = ?"
        params.append(request_id)
    if since is not None:
        sql += " and h.recorded_at > ?"
        params.append(since)
    sql += " order by h.recorded_at, h.request_id, h.gtin, h.serial"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = [
            r
            for r in query_rows(con, sql, *params)
            if DECOMMISSION_CBV[Reason(r["reason"])].emitted
        ]
        if not rows:
            return None
        gtins = sorted({r["gtin"] for r in rows})
        products = {
            p["gtin"]: p
            for p in query_rows(
                con, "select * from dim_products where list_contains(?, gtin)", gtins
            )
        }
        customers = sorted({r["customer_gln"] for r in rows})
        if receiver_gln is None:
            if len(customers) != 1:
                raise SerialtraceError(
                    f"the decommissioned serials go to {len(customers)} customers "
                    f"({', '.join(customers)}): name the receiver"
                )
            receiver_gln = customers[0]
        sender_gln = sorted({r["site_gln"] for r in rows})[0]
        locations = load_locations(
            con,
            {sender_gln, receiver_gln} | {r["location_gln"] for r in rows if r["location_gln"]},
        )
    cpl = {gtin: int(p["company_prefix_length"]) for gtin, p in products.items()}

    groups: dict[tuple[str, str, str, datetime], list[dict[str, Any]]] = {}
    for row in rows:
        place = row["location_gln"] or row["site_gln"]
        key = (row["request_id"], row["reason"], place, row["occurred_at"])
        groups.setdefault(key, []).append(row)
    counts: dict[str, int] = {}
    containers: dict[tuple[str, str, str, datetime], list[str]] = {}
    for key, members in groups.items():
        scope, scope_id = members[0]["scope"], members[0]["scope_id"]
        ssccs: list[str] = [scope_id] if scope in ("case", "pallet") else []
        if scope == "pallet":
            ssccs.extend(sorted({m["case_sscc"] for m in members if m["case_sscc"]}))
        containers[key] = ssccs
        counts[key[1]] = counts.get(key[1], 0) + len(members)

    def events() -> Iterator[Event]:
        for key, members in groups.items():
            request, reason, place, occurred_at = key
            words = DECOMMISSION_CBV[Reason(reason)]
            at = as_utc(occurred_at)
            here = sgln_of(locations, place)
            company = cpl[members[0]["gtin"]]
            scope, scope_id = members[0]["scope"], members[0]["scope_id"]
            if scope == "serial" and members[0]["case_sscc"] is not None:
                yield unpacking_event(
                    at,
                    sscc_uri(members[0]["case_sscc"], company),
                    tuple(sgtin_uri(m["gtin"], m["serial"], cpl[m["gtin"]]) for m in members),
                    here,
                )
            elif scope == "case" and members[0]["pallet_sscc"] is not None:
                yield unpacking_event(
                    at,
                    sscc_uri(members[0]["pallet_sscc"], company),
                    (sscc_uri(scope_id, company),),
                    here,
                )
            yield ObjectEvent(
                event_time=at,
                action=words.action,
                biz_step=words.biz_step,
                disposition=words.disposition,
                epcs=(
                    *(sgtin_uri(m["gtin"], m["serial"], cpl[m["gtin"]]) for m in members),
                    *(sscc_uri(s, company) for s in containers[key]),
                ),
                read_point=here,
                biz_location=here,
                reason=reason,
                event_id=f"urn:uuid:{request}" if len(groups) == 1 else None,
            )

    now = datetime.now(UTC)
    requests = tuple(dict.fromkeys(r["request_id"] for r in rows))
    doc_name = name or (
        f"decommission-{request_id}" if request_id else f"decommission-{now:%Y%m%dT%H%M%S%f}"
    )
    header = build_header(
        sender_gln,
        receiver_gln,
        instance_id=doc_name,
        created_at=now,
        products=[products[g] for g in gtins],
        locations=locations,
    )
    # each validated against the official schema before it is placed
    documents = tuple(
        write_events(
            outbox / DECOMMISSION_FOLDER / f"{doc_name}{SUFFIX[fmt]}", header, events(), fmt
        )
        for fmt in formats
    )
    return DecommissionDocument(
        name=doc_name,
        path=documents[0].path,
        stats=documents[0],
        requests=requests,
        decommissioned=sum(counts.values()),
        containers=sum(len(c) for c in containers.values()),
        by_reason=counts,
        documents=documents,
    )


def render_decommission_epcis_12(
    warehouse: Path,
    outbox: Path,
    *,
    request_id: str | None = None,
    since: datetime | None = None,
    receiver_gln: str | None = None,
    name: str | None = None,
) -> DecommissionDocument | None:
    """:func:`render_decommission` in EPCIS 1.2 XML only."""
    return render_decommission(
        warehouse,
        outbox,
        request_id=request_id,
        since=since,
        receiver_gln=receiver_gln,
        name=name,
    )


def unpacking_event(
    at: datetime, parent: str, children: tuple[str, ...], place: str
) -> AggregationEvent:
    """Unpacking for rework (AggregationEvent ``DELETE``, ``unpacking`` / ``in_progress``):
    ``children`` taken out of ``parent`` at ``place`` (an empty ``children`` = all)."""
    return AggregationEvent(
        event_time=at,
        action=UNPACKING.action,
        biz_step=UNPACKING.biz_step,
        disposition=UNPACKING.disposition,
        parent_id=parent,
        child_epcs=children,
        read_point=place,
        biz_location=place,
    )


def render_pending_decommissions(
    warehouse: Path, outbox: Path, formats: tuple[str, ...] = ("1.2-xml",)
) -> list[DecommissionDocument]:
    """One decommission document (in each of ``formats``) per request not rendered yet
    (its first format's file is missing)."""
    done = []
    for request in decommission_requests(warehouse):
        name = f"decommission-{request}"
        if (outbox / DECOMMISSION_FOLDER / f"{name}{SUFFIX[formats[0]]}").exists():
            continue
        document = render_decommission(
            warehouse, outbox, formats=formats, request_id=request, name=name
        )
        if document is not None:
            done.append(document)
    return done
