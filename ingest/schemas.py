"""Parquet contracts of the raw master-data and serial-allocation zone.

Files live under ``<home>/raw/masterdata/<table>/part-<NNNNN>.parquet`` and
``<home>/raw/serials/allocations/work_order=<WO>/part-<NNNNN>.parquet``; ERP/MES
connectors (ingest/erp) write ``part-erp-<load_id>.parquet`` beside them, one per loaded
file, and log every load in ``<home>/raw/erp/loads/``.
The warehouse (transforms/) reads only these schemas; docs/architecture.md lists them.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

COMPANY_SCHEMA = pa.schema(
    [
        pa.field("company_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("company_prefix", pa.string(), nullable=False),  # GS1 company prefix
        pa.field("source", pa.string(), nullable=True),  # connection name, or 'demo-config'
        pa.field("source_file", pa.string(), nullable=True),  # file (or API fetch) it came from
        pa.field("load_id", pa.string(), nullable=True),  # one id per loaded file (ingest/erp)
        pa.field("loaded_at", TS, nullable=False),
    ]
)

LOCATION_SCHEMA = pa.schema(
    [
        pa.field("gln", pa.string(), nullable=False),  # 13 digits with check digit
        pa.field("company_prefix_length", pa.int32(), nullable=False),
        pa.field("role", pa.string(), nullable=False),  # 'site' | 'customer'
        pa.field("party_name", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("street", pa.string(), nullable=False),
        pa.field("city", pa.string(), nullable=False),
        pa.field("state", pa.string(), nullable=True),
        pa.field("postal_code", pa.string(), nullable=False),
        pa.field("country_code", pa.string(), nullable=False),  # ISO 3166-1 alpha-2
        pa.field("source", pa.string(), nullable=True),  # connection name, or 'demo-config'
        pa.field("source_file", pa.string(), nullable=True),  # file (or API fetch) it came from
        pa.field("load_id", pa.string(), nullable=True),  # one id per loaded file (ingest/erp)
        pa.field("loaded_at", TS, nullable=False),
    ]
)

PRODUCT_SCHEMA = pa.schema(
    [
        pa.field("gtin", pa.string(), nullable=False),  # GTIN-14
        pa.field("company_id", pa.string(), nullable=False),
        pa.field("company_prefix_length", pa.int32(), nullable=False),
        pa.field("ndc", pa.string(), nullable=True),  # hyphenated 10-digit NDC
        pa.field("ndc11", pa.string(), nullable=True),  # 11-digit 5-4-2 billing form
        pa.field("name", pa.string(), nullable=False),
        pa.field("dosage_form", pa.string(), nullable=False),
        pa.field("strength", pa.string(), nullable=False),
        pa.field("pack_size", pa.string(), nullable=False),  # net content description
        pa.field("manufacturer", pa.string(), nullable=False),
        pa.field("erp_material", pa.string(), nullable=True),  # the ERP's material/item number
        pa.field("source_changed_at", TS, nullable=True),  # when the ERP changed the record
        pa.field("source", pa.string(), nullable=True),  # connection name, or 'demo-config'
        pa.field("source_file", pa.string(), nullable=True),  # file (or API fetch) it came from
        pa.field("load_id", pa.string(), nullable=True),  # one id per loaded file (ingest/erp)
        pa.field("loaded_at", TS, nullable=False),
        pa.field("snomed_ct_code", pa.string(), nullable=True),  # SNOMED CT concept id
        pa.field("proprietary_code", pa.string(), nullable=True),  # the company's own code
    ]
)

LOT_SCHEMA = pa.schema(
    [
        pa.field("gtin", pa.string(), nullable=False),
        pa.field("lot", pa.string(), nullable=False),
        pa.field("expiry", pa.date32(), nullable=False),
        pa.field("manufactured_on", pa.date32(), nullable=False),
        pa.field(
            "release_status", pa.string(), nullable=False
        ),  # 'released' | 'quarantine' | 'blocked' | 'recalled'
        pa.field("company_id", pa.string(), nullable=True),  # owner (CMO client)
        pa.field("quantity", pa.int64(), nullable=True),  # ERP batch quantity (base unit)
        pa.field("quantity_unit", pa.string(), nullable=True),  # its unit of measure
        pa.field("source_changed_at", TS, nullable=True),  # when the ERP changed the record
        pa.field("source", pa.string(), nullable=True),  # connection name, or 'demo-config'
        pa.field("source_file", pa.string(), nullable=True),  # file (or API fetch) it came from
        pa.field("load_id", pa.string(), nullable=True),  # one id per loaded file (ingest/erp)
        pa.field("loaded_at", TS, nullable=False),
    ]
)

WORK_ORDER_SCHEMA = pa.schema(
    [
        pa.field("work_order_id", pa.string(), nullable=False),
        pa.field("gtin", pa.string(), nullable=False),
        pa.field("lot", pa.string(), nullable=False),
        pa.field("line_id", pa.string(), nullable=False),
        pa.field("site_gln", pa.string(), nullable=False),
        pa.field("customer_gln", pa.string(), nullable=False),
        pa.field("planned_quantity", pa.int64(), nullable=False),
        pa.field("case_size", pa.int32(), nullable=False),  # items per case
        pa.field("pallet_size", pa.int32(), nullable=False),  # cases per pallet
        pa.field("company_id", pa.string(), nullable=True),  # owner (CMO client)
        pa.field("source", pa.string(), nullable=True),  # connection name, or 'demo-config'
        pa.field("source_file", pa.string(), nullable=True),  # file (or API fetch) it came from
        pa.field("load_id", pa.string(), nullable=True),  # one id per loaded file (ingest/erp)
        pa.field("loaded_at", TS, nullable=False),
    ]
)

ALLOCATION_SCHEMA = pa.schema(
    [
        pa.field("pool_id", pa.string(), nullable=False),
        pa.field("work_order_id", pa.string(), nullable=False),
        pa.field("gtin", pa.string(), nullable=False),
        pa.field("lot", pa.string(), nullable=False),
        pa.field("expiry", pa.date32(), nullable=False),
        pa.field("serial", pa.string(), nullable=False),
        pa.field("allocated_at", TS, nullable=False),
    ]
)

MASTERDATA_TABLES: dict[str, pa.Schema] = {
    "companies": COMPANY_SCHEMA,
    "locations": LOCATION_SCHEMA,
    "products": PRODUCT_SCHEMA,
    "lots": LOT_SCHEMA,
    "work_orders": WORK_ORDER_SCHEMA,
}

ERP_LOAD_SCHEMA = pa.schema(
    [
        pa.field("load_id", pa.string(), nullable=False),  # '<connection>-<sha256 prefix>'
        pa.field("connection", pa.string(), nullable=False),
        pa.field("company_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),  # connector kind (sap_idoc, ...)
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("outcome", pa.string(), nullable=False),  # 'loaded' | 'quarantined'
        pa.field("products", pa.int64(), nullable=False),  # rows landed per table
        pa.field("lots", pa.int64(), nullable=False),
        pa.field("work_orders", pa.int64(), nullable=False),
        pa.field("rejected_rows", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=True),  # first reason when quarantined
        pa.field("loaded_at", TS, nullable=False),
        pa.field("loaded_by", pa.string(), nullable=True),  # acting user, or 'service'
    ]
)

#: Licence types a trading partner may hold (DSCSA authorized trading partners).
LICENCE_TYPES = ("wholesale_distributor", "3pl", "dispenser", "manufacturer", "repackager")
#: Status of a licence at its issuing authority.
LICENCE_STATUSES = ("active", "suspended", "revoked")

#: ``raw/masterdata/partner_licences/part-lic-<sha256 prefix>.parquet``: one file per loaded
#: licence file (``serialtrace partners licences load``), every load kept: the warehouse
#: versions each licence (SCD2) from them. Not in MASTERDATA_TABLES: it has its own loader
#: (partners/licence_loader.py) and every column is written by it.
PARTNER_LICENCE_SCHEMA = pa.schema(
    [
        pa.field("partner_id", pa.string(), nullable=False),  # trading partner id
        pa.field("partner_gln", pa.string(), nullable=False),  # party or ship-to GLN licensed
        pa.field("licence_type", pa.string(), nullable=False),  # one of LICENCE_TYPES
        pa.field("licence_number", pa.string(), nullable=False),  # as issued
        pa.field("issuing_authority", pa.string(), nullable=False),  # e.g. 'NJ Board of Pharmacy'
        pa.field("state", pa.string(), nullable=True),  # state / region of the authority
        pa.field("valid_from", pa.date32(), nullable=False),  # licence issued / effective
        pa.field("valid_to", pa.date32(), nullable=True),  # last day valid; null: no expiry
        pa.field("status", pa.string(), nullable=False),  # one of LICENCE_STATUSES
        pa.field("source_changed_at", TS, nullable=True),  # when the source changed the record
        pa.field("source", pa.string(), nullable=False),  # where the file came from
        pa.field("source_file", pa.string(), nullable=False),  # the file's name
        pa.field("load_id", pa.string(), nullable=False),  # 'licences-<sha256 prefix>'
        pa.field("loaded_at", TS, nullable=False),
        pa.field("loaded_by", pa.string(), nullable=True),  # acting user, or 'service'
    ]
)
