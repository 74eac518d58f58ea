"""Land master data (company, locations, product, lot, work order) in the raw zone.

This is the seam where ERP / MES connectors (issue #11) will land their rows; for now the
demo configuration is the source. Schemas: ingest/schemas.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from ingest.schemas import ALLOCATION_SCHEMA, MASTERDATA_TABLES
from serialtrace.config import DemoConfig, Location
from serialtrace.io.parquet import rows_to_table, write_atomic


def land_masterdata(
    raw_masterdata: Path, config: DemoConfig, work_order_id: str, planned_quantity: int
) -> None:
    """Write the master-data snapshot and one new work order to the raw zone."""
    now = datetime.now(UTC)
    c, p, lot, wo = config.company, config.product, config.lot, config.work_order

    def location(loc: Location, role: str) -> dict[str, object]:
        return {
            "gln": loc.gln,
            "company_prefix_length": loc.company_prefix_length,
            "role": role,
            "party_name": loc.party_name,
            "name": loc.name,
            "street": loc.street,
            "city": loc.city,
            "state": loc.state,
            "postal_code": loc.postal_code,
            "country_code": loc.country_code,
            "loaded_at": now,
        }

    snapshot: dict[str, list[dict[str, object]]] = {
        "companies": [
            {
                "company_id": c.company_id,
                "name": c.name,
                "company_prefix": c.company_prefix,
                "loaded_at": now,
            }
        ],
        "locations": [location(config.site, "site"), location(config.customer, "customer")],
        "products": [
            {
                "gtin": p.gtin,
                "company_id": c.company_id,
                "company_prefix_length": p.company_prefix_length,
                "ndc": p.ndc,
                "ndc11": p.ndc11,
                "name": p.name,
                "dosage_form": p.dosage_form,
                "strength": p.strength,
                "pack_size": p.pack_size,
                "manufacturer": p.manufacturer,
                "loaded_at": now,
                "snomed_ct_code": p.snomed_ct_code,
                "proprietary_code": p.proprietary_code,
            }
        ],
        "lots": [
            {
                "gtin": p.gtin,
                "lot": lot.lot,
                "expiry": lot.expiry,
                "manufactured_on": lot.manufactured_on,
                "release_status": lot.release_status,
                "loaded_at": now,
            }
        ],
    }
    for table, rows in snapshot.items():
        write_atomic(
            raw_masterdata / table / "part-00000.parquet",
            rows_to_table(rows, MASTERDATA_TABLES[table]),
        )
    order = {
        "work_order_id": work_order_id,
        "gtin": p.gtin,
        "lot": lot.lot,
        "line_id": wo.line_id,
        "site_gln": config.site.gln,
        "customer_gln": config.customer.gln,
        "planned_quantity": planned_quantity,
        "case_size": wo.case_size,
        "pallet_size": wo.pallet_size,
        "loaded_at": now,
    }
    write_atomic(
        raw_masterdata / "work_orders" / f"part-{work_order_id}.parquet",
        rows_to_table([order], MASTERDATA_TABLES["work_orders"]),
    )


def land_allocations(
    raw_serials: Path,
    pool_id: str,
    work_order_id: str,
    gtin: str,
    lot: str,
    expiry: date,
    serials: Sequence[str],
) -> Path:
    """Record serials allocated to a work order in the raw zone (the ledger stays the truth)."""
    now = datetime.now(UTC)
    table = rows_to_table(
        [
            {
                "pool_id": pool_id,
                "work_order_id": work_order_id,
                "gtin": gtin,
                "lot": lot,
                "expiry": expiry,
                "serial": s,
                "allocated_at": now,
            }
            for s in serials
        ],
        ALLOCATION_SCHEMA,
    )
    return write_atomic(
        raw_serials / "allocations" / f"work_order={work_order_id}" / "part-00000.parquet", table
    )
