"""Lineage as evidence: what every outbound document was made from.

Beside each document ``X.xml`` the EPCIS stage writes ``X.xml.lineage.json`` and appends
one row per (document, input file) to ``<home>/raw/lineage/documents/part-*.parquet``, so
an auditor can ask in SQL which raw files, batches and code version produced a file:
the document's SHA-256, the work orders it covers, every raw Parquet file of those work
orders (and the master data) with its SHA-256 and size, the warehouse models read, the
dbt manifest's SHA-256, and the git commit of the code (with a flag if the working tree
had uncommitted changes).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from serialtrace.io.parquet import rows_to_table, write_atomic
from serialtrace.settings import PROJECT_ROOT

LINEAGE_SCHEMA = pa.schema(
    [
        pa.field("lineage_id", pa.string(), nullable=False),  # one per rendered document
        pa.field("document_path", pa.string(), nullable=False),  # relative to the home
        pa.field("document_sha256", pa.string(), nullable=False),
        pa.field("work_order_ids", pa.string(), nullable=False),  # comma-separated
        pa.field("input_path", pa.string(), nullable=False),  # raw file, relative to the home
        pa.field("input_sha256", pa.string(), nullable=False),
        pa.field("input_bytes", pa.int64(), nullable=False),
        pa.field("models", pa.string(), nullable=False),  # warehouse models read, comma-sep.
        pa.field("dbt_manifest_sha256", pa.string(), nullable=True),
        pa.field("code_version", pa.string(), nullable=False),  # git commit (+ "-dirty")
        pa.field("recorded_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


@dataclass(frozen=True)
class InputFile:
    path: str
    sha256: str
    bytes: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def code_version() -> str:
    """The git commit of the running code, ``-dirty`` if it has uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import version

        return f"serialtrace-{version('serialtrace')} (no git)"
    return commit + ("-dirty" if dirty else "")


def inputs_for(home_root: Path, work_order_ids: Sequence[str]) -> list[InputFile]:
    """Raw files a document of these work orders is built from."""
    raw = home_root / "raw"
    files: set[Path] = set()
    for wo in work_order_ids:
        files.update(raw.glob(f"*/*/work_order={wo}/*.parquet"))  # line streams, allocations
    files.update((raw / "masterdata").glob("*/*.parquet"))
    files.update((raw / "lifecycle").glob("*/*.parquet"))
    return [
        InputFile(str(p.relative_to(home_root)), sha256_of(p), p.stat().st_size)
        for p in sorted(files)
    ]


def record_lineage(
    home_root: Path,
    document: Path,
    work_order_ids: Sequence[str],
    models: Sequence[str],
    manifest: Path | None,
) -> Path:
    """Write the document's lineage beside it and into the queryable lineage zone."""
    now = datetime.now(UTC)
    lineage_id = str(uuid.uuid4())
    inputs = inputs_for(home_root, work_order_ids)
    record = {
        "lineage_id": lineage_id,
        "document": str(document.relative_to(home_root)),
        "document_sha256": sha256_of(document),
        "work_order_ids": list(work_order_ids),
        "inputs": [asdict(i) for i in inputs],
        "models": list(models),
        "dbt_manifest_sha256": sha256_of(manifest) if manifest and manifest.exists() else None,
        "code_version": code_version(),
        "recorded_at": now.isoformat(),
    }
    sidecar = document.with_name(document.name + ".lineage.json")
    tmp = sidecar.with_name(f".{sidecar.name}.tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(sidecar)
    rows = [
        {
            "lineage_id": lineage_id,
            "document_path": record["document"],
            "document_sha256": record["document_sha256"],
            "work_order_ids": ",".join(work_order_ids),
            "input_path": i.path,
            "input_sha256": i.sha256,
            "input_bytes": i.bytes,
            "models": ",".join(models),
            "dbt_manifest_sha256": record["dbt_manifest_sha256"],
            "code_version": record["code_version"],
            "recorded_at": now,
        }
        for i in inputs
    ]
    write_atomic(
        home_root
        / "raw"
        / "lineage"
        / "documents"
        / f"part-{now:%Y%m%dT%H%M%S%f}-{lineage_id}.parquet",
        rows_to_table(rows, LINEAGE_SCHEMA),
    )
    return sidecar
