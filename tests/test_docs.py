"""docs/ must stay true to the code: every raw column documented."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest

from epcis.inbound import INBOUND_TABLES
from epcis.shipping import SHIPMENT_TABLES
from ingest.schemas import (
    ALLOCATION_SCHEMA,
    ERP_LOAD_SCHEMA,
    MASTERDATA_TABLES,
    PARTNER_LICENCE_SCHEMA,
)
from line_bridge.schemas import STREAMS
from partners.export import DELIVERY_SCHEMA
from serialtrace.lifecycle.schema import LIFECYCLE_TABLES
from serialtrace.settings import PROJECT_ROOT
from verification.querylog import QUERY_LOG_SCHEMA

ARCHITECTURE = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
SCHEMAS = {
    **STREAMS,
    **MASTERDATA_TABLES,
    "allocations": ALLOCATION_SCHEMA,
    "erp_loads": ERP_LOAD_SCHEMA,
    **{f"lifecycle_{name}": schema for name, schema in LIFECYCLE_TABLES.items()},
    "partner_deliveries": DELIVERY_SCHEMA,
    "verification_queries": QUERY_LOG_SCHEMA,
    **SHIPMENT_TABLES,
    **INBOUND_TABLES,
    "partner_licences": PARTNER_LICENCE_SCHEMA,
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_raw_column_is_documented_with_its_type(name: str) -> None:
    schema: pa.Schema = SCHEMAS[name]
    section = ARCHITECTURE.split(f"#### `{name}`", 1)[1].split("####", 1)[0]
    documented = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.MULTILINE))
    assert documented == {f.name: str(f.type) for f in schema}
