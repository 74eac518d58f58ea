"""Query results of the dashboards cached per version of the warehouse file.

A result is cached under the warehouse's path and its version (modification time and size
of the DuckDB file and of its write-ahead log): a build that writes the warehouse changes
the version, so the next page run queries again instead of showing stale figures. Only
queries whose result depends on the warehouse alone are cached here (not the alerts or
user stores, which change without a build).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from dashboards import data

Version = tuple[int, ...]


def warehouse_version(warehouse: Path) -> Version:
    """What changes whenever the warehouse is written: (mtime ns, size) of the DuckDB file
    and of its WAL (zeros when there is none)."""
    stamp: list[int] = []
    for path in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        try:
            info = path.stat()
        except FileNotFoundError:
            stamp += [0, 0]
        else:
            stamp += [info.st_mtime_ns, info.st_size]
    return tuple(stamp)


# the version is an argument so that it is part of the cache key; the functions below read
# the warehouse through dashboards.data (the page run's connection when there is one)


@st.cache_data(max_entries=16, show_spinner=False)
def _batch_quality(warehouse: str, version: Version) -> pl.DataFrame:
    return data.batch_quality(Path(warehouse))


@st.cache_data(max_entries=256, show_spinner=False)
def _throughput(warehouse: str, version: Version, work_order_id: str) -> pl.DataFrame:
    return data.throughput(Path(warehouse), work_order_id)


@st.cache_data(max_entries=256, show_spinner=False)
def _batch_status_counts(warehouse: str, version: Version, work_order_id: str) -> dict[str, int]:
    return data.batch_status_counts(Path(warehouse), work_order_id)


@st.cache_data(max_entries=16, show_spinner=False)
def _reconciliation(warehouse: str, version: Version) -> pl.DataFrame:
    return data.reconciliation(Path(warehouse))


@st.cache_data(max_entries=256, show_spinner=False)
def _page_of(
    warehouse: str, version: Version, sql: str, params: tuple[Any, ...], number: int, size: int
) -> data.Page:
    return data.page_of(Path(warehouse), sql, list(params), number, size)


def page_of(
    warehouse: Path, sql: str, params: list[Any], number: int, size: int = data.PAGE_SIZE
) -> data.Page:
    """:func:`dashboards.data.page_of`, cached per warehouse version (the query must read
    the warehouse alone)."""
    return _page_of(str(warehouse), warehouse_version(warehouse), sql, tuple(params), number, size)


def batch_quality(warehouse: Path) -> pl.DataFrame:
    """:func:`dashboards.data.batch_quality`, cached per warehouse version."""
    return _batch_quality(str(warehouse), warehouse_version(warehouse))


def throughput(warehouse: Path, work_order_id: str) -> pl.DataFrame:
    """:func:`dashboards.data.throughput`, cached per warehouse version."""
    return _throughput(str(warehouse), warehouse_version(warehouse), work_order_id)


def batch_status_counts(warehouse: Path, work_order_id: str) -> dict[str, int]:
    """:func:`dashboards.data.batch_status_counts`, cached per warehouse version."""
    return _batch_status_counts(str(warehouse), warehouse_version(warehouse), work_order_id)


def reconciliation(warehouse: Path) -> pl.DataFrame:
    """:func:`dashboards.data.reconciliation`, cached per warehouse version."""
    return _reconciliation(str(warehouse), warehouse_version(warehouse))
