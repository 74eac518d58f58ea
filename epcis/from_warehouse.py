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

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from epcis.model import AggregationEvent, DocumentHeader, Event, Location, ObjectEvent, ProductClass
from epcis.validate import require_valid
from epcis.xml12 import WriteStats, write_epcis_12
from serialtrace.errors import SerialtraceError
from serialtrace.gs1.epc import sgln_uri, sgtin_pattern_uri, sgtin_uri, sscc_uri
from serialtrace.lifecycle.cbv import DECOMMISSION_CBV, UNPACKING
from serialtrace.lifecycle.machine import Reason


@dataclass(frozen=True)
class BatchDocument:
    work_order_id: str
    path: Path
    stats: WriteStats
    commissioned: int
    decommissioned: int
    cases: int
    pallets: int


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def render_batch_epcis_12(warehouse: Path, work_order_id: str, outbox: Path) -> BatchDocument:
    """Render and validate the EPCIS 1.2 (DSCSA profile) document of one work order."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        orders = _rows(con, "select * from dim_work_orders where work_order_id = ?", work_order_id)
        if not orders:
            raise SerialtraceError(f"work order {work_order_id} is not in the warehouse")
        order = orders[0]
        product = _rows(con, "select * from dim_products where gtin = ?", order["gtin"])[0]
        locations = {
            row["gln"]: row
            for row in _rows(
                con,
                "select * from dim_locations where gln in (?, ?)",
                order["site_gln"],
                order["customer_gln"],
            )
        }
        units = _rows(
            con,
            "select serial, line_status as status, line_status_reason as status_reason, "
            "inspected_at from serial_lifecycle where work_order_id = ? order by seq",
            work_order_id,
        )
        containers = _rows(
            con,
            "select sscc, level, commissioned_at from containers "
            "where work_order_id = ? order by level, sscc",
            work_order_id,
        )
        links = _rows(
            con,
            "select parent_sscc, parent_level, child_gtin, child_serial, child_sscc, "
            "aggregated_at from aggregation_hierarchy where work_order_id = ? "
            "order by parent_level, parent_sscc, child_serial, child_sscc",
            work_order_id,
        )
    cpl = int(product["company_prefix_length"])
    site = locations[order["site_gln"]]
    customer = locations[order["customer_gln"]]
    site_sgln = sgln_uri(site["gln"], int(site["company_prefix_length"]))
    header = DocumentHeader(
        sender_sgln=site_sgln,
        receiver_sgln=sgln_uri(customer["gln"], int(customer["company_prefix_length"])),
        instance_id=f"{work_order_id}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}",
        created_at=datetime.now(UTC),
        products=(product_class_of(product),),
        locations=(location_of(site), location_of(customer)),
    )
    good = [u for u in units if u["status"] in ("commissioned", "aggregated")]
    rejected = [u for u in units if u["status"] == "decommissioned"]
    gtin = product["gtin"]

    def events() -> Iterator[Event]:
        if good:
            yield ObjectEvent(
                event_time=_utc(max(u["inspected_at"] for u in good)),
                action="ADD",
                biz_step="commissioning",
                disposition="active",
                epcs=tuple(sgtin_uri(gtin, u["serial"], cpl) for u in good),
                read_point=site_sgln,
                biz_location=site_sgln,
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
                read_point=site_sgln,
                biz_location=site_sgln,
            )
        yield from aggregation_events(links, gtin, cpl, site_sgln)
        by_reason: dict[str, list[dict[str, Any]]] = {}
        for unit in rejected:
            by_reason.setdefault(unit["status_reason"], []).append(unit)
        for reason, members in sorted(by_reason.items()):
            yield ObjectEvent(
                event_time=_utc(max(u["inspected_at"] for u in members)),
                action="DELETE",
                biz_step="decommissioning",
                disposition="inactive",
                epcs=tuple(sgtin_uri(gtin, u["serial"], cpl) for u in members),
                read_point=site_sgln,
                biz_location=site_sgln,
                reason=reason,
            )

    path = outbox / work_order_id / f"{work_order_id}.epcis-1.2.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    stats = write_epcis_12(tmp, header, events())
    require_valid(tmp)  # an invalid document never reaches the outbox
    tmp.replace(path)
    return BatchDocument(
        work_order_id=work_order_id,
        path=path,
        stats=stats,
        commissioned=len(good),
        decommissioned=len(rejected),
        cases=sum(1 for c in containers if c["level"] == "case"),
        pallets=sum(1 for c in containers if c["level"] == "pallet"),
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
                event_time=_utc(max(c["aggregated_at"] for c in children)),
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
    path: Path
    stats: WriteStats
    requests: tuple[str, ...]  # lifecycle request ids in the document
    decommissioned: int  # unit SGTINs decommissioned
    containers: int  # case / pallet SSCCs decommissioned with their content
    by_reason: dict[str, int]


def product_class_of(product: dict[str, Any]) -> ProductClass:
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


def location_of(loc: dict[str, Any]) -> Location:
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


def render_decommission_epcis_12(
    warehouse: Path,
    outbox: Path,
    *,
    request_id: str | None = None,
    since: datetime | None = None,
    receiver_gln: str | None = None,
    name: str | None = None,
) -> DecommissionDocument | None:
    """Render and validate the EPCIS 1.2 document of post-line decommissionings: one
    request (``request_id``), or every one recorded after ``since`` (or all).

    One ObjectEvent ``DELETE`` per request, reason and place, with the bizStep and
    disposition of the reason (serialtrace.lifecycle.cbv); the SSCCs of a decommissioned
    case or pallet go in the same event as their items. A unit taken from a case (serial
    scope) or a case taken from a pallet first gets an unpacking AggregationEvent
    ``DELETE``. Reasons that emit nothing (unused at batch close: never commissioned)
    are left out; None when nothing is left. The receiver is the work orders' customer
    unless ``receiver_gln`` is given. Written to ``outbox/decommissions/<name>.epcis-1.2.xml``.
    """
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
            r for r in _rows(con, sql, *params) if DECOMMISSION_CBV[Reason(r["reason"])].emitted
        ]
        if not rows:
            return None
        gtins = sorted({r["gtin"] for r in rows})
        products = {
            p["gtin"]: p
            for p in _rows(con, "select * from dim_products where list_contains(?, gtin)", gtins)
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
        glns = sorted(
            {sender_gln, receiver_gln} | {r["location_gln"] for r in rows if r["location_gln"]}
        )
        locations = {
            loc["gln"]: loc
            for loc in _rows(con, "select * from dim_locations where list_contains(?, gln)", glns)
        }
    missing = [gln for gln in glns if gln not in locations]
    if missing:
        raise SerialtraceError(f"locations {', '.join(missing)} are not in dim_locations")
    cpl = {gtin: int(p["company_prefix_length"]) for gtin, p in products.items()}

    def sgln(gln: str) -> str:
        return sgln_uri(gln, int(locations[gln]["company_prefix_length"]))

    groups: dict[tuple[str, str, str, datetime], list[dict[str, Any]]] = {}
    for row in rows:
        place = row["location_gln"] or row["site_gln"]
        key = (row["request_id"], row["reason"], place, row["occurred_at"])
        groups.setdefault(key, []).append(row)
    counts: dict[str, int] = {}
    containers_total = 0

    def events() -> Iterator[Event]:
        nonlocal containers_total
        for (request, reason, place, occurred_at), members in groups.items():
            words = DECOMMISSION_CBV[Reason(reason)]
            at = _utc(occurred_at)
            here = sgln(place)
            company = cpl[members[0]["gtin"]]
            scope, scope_id = members[0]["scope"], members[0]["scope_id"]
            if scope == "serial" and members[0]["case_sscc"] is not None:
                unpack_parent: str | None = members[0]["case_sscc"]
                unpack_children = tuple(
                    sgtin_uri(m["gtin"], m["serial"], cpl[m["gtin"]]) for m in members
                )
            elif scope == "case" and members[0]["pallet_sscc"] is not None:
                unpack_parent = members[0]["pallet_sscc"]
                unpack_children = (sscc_uri(scope_id, company),)
            else:
                unpack_parent, unpack_children = None, ()
            if unpack_parent is not None:
                yield AggregationEvent(
                    event_time=at,
                    action=UNPACKING.action,
                    biz_step=UNPACKING.biz_step,
                    disposition=UNPACKING.disposition,
                    parent_id=sscc_uri(unpack_parent, company),
                    child_epcs=unpack_children,
                    read_point=here,
                    biz_location=here,
                )
            ssccs: list[str] = []
            if scope in ("case", "pallet"):
                ssccs.append(scope_id)
            if scope == "pallet":
                ssccs.extend(sorted({m["case_sscc"] for m in members if m["case_sscc"]}))
            containers_total += len(ssccs)
            counts[reason] = counts.get(reason, 0) + len(members)
            yield ObjectEvent(
                event_time=at,
                action=words.action,
                biz_step=words.biz_step,
                disposition=words.disposition,
                epcs=(
                    *(sgtin_uri(m["gtin"], m["serial"], cpl[m["gtin"]]) for m in members),
                    *(sscc_uri(s, company) for s in ssccs),
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
    header = DocumentHeader(
        sender_sgln=sgln(sender_gln),
        receiver_sgln=sgln(receiver_gln),
        instance_id=doc_name,
        created_at=now,
        products=tuple(product_class_of(products[g]) for g in gtins),
        locations=tuple(location_of(locations[g]) for g in glns),
    )
    path = outbox / DECOMMISSION_FOLDER / f"{doc_name}.epcis-1.2.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    stats = write_epcis_12(tmp, header, events())
    require_valid(tmp)  # an invalid document never reaches the outbox
    tmp.replace(path)
    return DecommissionDocument(
        name=doc_name,
        path=path,
        stats=stats,
        requests=requests,
        decommissioned=sum(counts.values()),
        containers=containers_total,
        by_reason=counts,
    )


def render_pending_decommissions(warehouse: Path, outbox: Path) -> list[DecommissionDocument]:
    """One decommission document per request not rendered yet (its file is missing)."""
    done = []
    for request in decommission_requests(warehouse):
        name = f"decommission-{request}"
        if (outbox / DECOMMISSION_FOLDER / f"{name}.epcis-1.2.xml").exists():
            continue
        document = render_decommission_epcis_12(warehouse, outbox, request_id=request, name=name)
        if document is not None:
            done.append(document)
    return done
