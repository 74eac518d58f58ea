"""Build the EPCIS events of one batch from the warehouse marts, and write them.

Reads only the marts' contract (serial_lifecycle, containers, aggregation_hierarchy,
dim_work_orders, dim_products, dim_locations); never the raw zone.
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
            "select serial, status, status_reason, inspected_at from serial_lifecycle "
            "where work_order_id = ? order by seq",
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
        products=(
            ProductClass(
                pattern_uri=sgtin_pattern_uri(product["gtin"], cpl),
                ndc=product["ndc"],
                ndc_type_code="US_FDA_NDC",
                name=product["product_name"],
                manufacturer=product["manufacturer"],
                dosage_form=product["dosage_form"],
                strength=product["strength"],
                net_content=product["pack_size"],
            ),
        ),
        locations=tuple(
            Location(
                sgln=sgln_uri(loc["gln"], int(loc["company_prefix_length"])),
                name=loc["location_name"],
                street=loc["street"],
                city=loc["city"],
                state=loc["state"],
                postal_code=loc["postal_code"],
                country_code=loc["country_code"],
            )
            for loc in (site, customer)
        ),
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
        yield from _aggregation_events(links, gtin, cpl, site_sgln)
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


def _aggregation_events(
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
