"""Item → case → pallet aggregation as the line packs. Pure: time is passed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Aggregator:
    """Fills cases with passed items and pallets with closed cases.

    ``new_sscc(level)`` returns a fresh SSCC for a 'case' or 'pallet'. Every method
    returns the aggregate-stream rows it produced (line_bridge.schemas.AGGREGATE_SCHEMA,
    without the work-order and line columns).
    """

    case_size: int
    pallet_size: int
    new_sscc: Callable[[str], str]
    _items: list[tuple[str, str]] = field(default_factory=list)
    _cases: list[str] = field(default_factory=list)
    cases_closed: int = 0
    pallets_closed: int = 0

    def __post_init__(self) -> None:
        if self.case_size < 1 or self.pallet_size < 1:
            raise ValueError("case and pallet sizes must be at least 1")

    def restore(
        self,
        open_items: list[tuple[str, str]],
        open_cases: list[str],
        cases_closed: int,
        pallets_closed: int,
        at: datetime,
    ) -> list[dict[str, Any]]:
        """Take up packing where a crashed run left it (state rebuilt from the journal).

        A run killed between journaling an item's pass and journaling the case that item
        filled leaves a full case open: it is closed here (and a full pallet with it), and
        the rows returned must be journaled before packing goes on (roll forward), so no
        case ever holds more than ``case_size`` items."""
        self._items = []
        self._cases = list(open_cases)
        self.cases_closed = cases_closed
        self.pallets_closed = pallets_closed
        rows: list[dict[str, Any]] = []
        if len(self._cases) >= self.pallet_size:
            rows += self._close_pallet(at, full=True)
        for gtin, serial in open_items:
            rows += self.add_item(gtin, serial, at)
        return rows

    def add_item(self, gtin: str, serial: str, at: datetime) -> list[dict[str, Any]]:
        self._items.append((gtin, serial))
        if len(self._items) < self.case_size:
            return []
        return self._close_case(at, full=True)

    def finish(self, at: datetime) -> list[dict[str, Any]]:
        """Close the partial case and pallet left at batch end (``parent_full`` false)."""
        rows: list[dict[str, Any]] = []
        if self._items:
            rows += self._close_case(at, full=False)
        if self._cases:
            rows += self._close_pallet(at, full=False)
        return rows

    def _close_case(self, at: datetime, full: bool) -> list[dict[str, Any]]:
        case = self.new_sscc("case")
        rows = [
            link_row(case, "case", "item", at, full, child_gtin=gtin, child_serial=serial)
            for gtin, serial in self._items
        ]
        self._items = []
        self.cases_closed += 1
        self._cases.append(case)
        if len(self._cases) >= self.pallet_size:
            rows += self._close_pallet(at, full=True)
        return rows

    def _close_pallet(self, at: datetime, full: bool) -> list[dict[str, Any]]:
        pallet = self.new_sscc("pallet")
        rows = [link_row(pallet, "pallet", "case", at, full, child_sscc=c) for c in self._cases]
        self._cases = []
        self.pallets_closed += 1
        return rows


def link_row(
    parent: str,
    parent_level: str,
    child_level: str,
    at: datetime,
    full: bool,
    child_gtin: str | None = None,
    child_serial: str | None = None,
    child_sscc: str | None = None,
) -> dict[str, Any]:
    return {
        "parent_sscc": parent,
        "parent_level": parent_level,
        "child_level": child_level,
        "child_gtin": child_gtin,
        "child_serial": child_serial,
        "child_sscc": child_sscc,
        "action": "ADD",
        "parent_full": full,
        "aggregated_at": at,
    }
