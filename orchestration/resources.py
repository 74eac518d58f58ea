"""Dagster resources: every external system the assets touch."""

from pathlib import Path

import duckdb
from dagster import ConfigurableResource


class DuckDBWarehouse(ConfigurableResource):  # type: ignore[type-arg]
    """The DuckDB warehouse file that dbt builds and every reader queries."""

    path: str

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(self.path, read_only=read_only)


class RawZone(ConfigurableResource):  # type: ignore[type-arg]
    """The raw Parquet zone the line bridge and the ingest connectors fill."""

    path: str

    @property
    def line(self) -> Path:
        return Path(self.path) / "line"


class EpcisOutbox(ConfigurableResource):  # type: ignore[type-arg]
    """Folder of rendered, validated EPCIS documents waiting for delivery."""

    path: str

    @property
    def folder(self) -> Path:
        return Path(self.path)
