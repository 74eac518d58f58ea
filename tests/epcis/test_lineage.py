"""Every outbound EPCIS document can be traced to its raw files and code version."""

from __future__ import annotations

import json

import duckdb

from epcis.lineage import sha256_of
from serialtrace.demo import DemoResult
from serialtrace.settings import Home


def test_batch_document_lineage_is_recorded_and_queryable(
    demo: tuple[Home, DemoResult],
) -> None:
    home, result = demo
    document = result.epcis_path
    sidecar = document.with_name(document.name + ".lineage.json")
    record = json.loads(sidecar.read_text())
    assert record["document_sha256"] == sha256_of(document)
    assert record["work_order_ids"] == [result.work_order_id]
    inputs = {i["path"]: i for i in record["inputs"]}
    prints = [p for p in inputs if p.startswith("raw/line/print/")]
    assert prints and all(result.work_order_id in p for p in prints)
    for path, entry in inputs.items():  # the recorded hashes are those of the files
        assert sha256_of(home.root / path) == entry["sha256"]
    assert "serial_lifecycle" in record["models"] and record["code_version"]
    with duckdb.connect() as con:
        rows = con.execute(
            f"select distinct document_path, document_sha256 from read_parquet("
            f"'{home.raw}/lineage/documents/*.parquet') where work_order_ids = ?",
            [result.work_order_id],
        ).fetchall()
    assert rows == [(record["document"], record["document_sha256"])]
