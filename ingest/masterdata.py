"""Land master data (company, locations, product, lot, work order) in the raw zone.

The demo configuration is the fallback source of master data: a product or lot that an
ERP/MES connector (ingest/erp) has already landed belongs to the ERP and is not written
again from the configuration (the ERP's release status must not be overwritten).
Schemas: ingest/schemas.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from ingest.schemas import ALLOCATION_SCHEMA, MASTERDATA_TABLES
from serialtrace.config import DemoConfig, Location
from serialtrace.io.parquet import rows_to_table, write_atomic

DEMO_SOURCE = "demo-config"


def erp_has_lot(raw_masterdata: Path, gtin: str, lot: str) -> bool:
    """True when a connector (any source but the demo configuration) landed this lot."""
    folder = raw_masterdata / "lots"
    if not any(folder.glob("*.parquet")):
        return False
    with duckdb.connect() as con:
        try:
            row = con.execute(
                f"select count(*) from read_parquet('{folder}/*.parquet', union_by_name = true) "
                "where gtin = ? and lot = ? and coalesce(source, ?) <> ?",
                [gtin, lot, DEMO_SOURCE, DEMO_SOURCE],
            ).fetchone()
        except duckdb.BinderException:  # files older than the `source` column
            return False
    return bool(row and row[0])


def land_masterdata(
    raw_masterdata: Path, config: DemoConfig, work_order_id: str, planned_quantity: int
) -> None:
    """Write the master-data snapshot and one new work order to the raw zone."""
    now = datetime.now(UTC)
    c, p, lot, wo = config.company, config.product, config.lot, config.work_order
    provenance: dict[str, object] = {
        "source": DEMO_SOURCE,
        "source_file": "demo.toml",
        "load_id": None,
    }

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
            **provenance,
            "loaded_at": now,
        }

    snapshot: dict[str, list[dict[str, object]]] = {
        "companies": [
            {
                "company_id": c.company_id,
                "name": c.name,
                "company_prefix": c.company_prefix,
                **provenance,
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
                "erp_material": None,
                "source_changed_at": None,
                **provenance,
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
                "company_id": c.company_id,
                "quantity": None,
                "quantity_unit": None,
                "source_changed_at": None,
                **provenance,
                "loaded_at": now,
            }
        ],
    }
    if erp_has_lot(raw_masterdata, p.gtin, lot.lot):
        del snapshot["products"], snapshot["lots"]  # the ERP owns them
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
        "company_id": c.company_id,
        **provenance,
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
