"""Rework of packed cases and pallets: unpack, replace an item, pack again.

Every move is written as ``aggregate`` rows (action ``DELETE`` / ``ADD``) through the
batch's journal, like the bridge's own rows, so the warehouse replays it by time
(``aggregation_hierarchy``). The packing as it stands is rebuilt from the journal
(every ADD and DELETE in order); a move is checked against it, against the camera verdicts
of the batch (``inspect``) and against the serial lifecycle (a unit decommissioned or
shipped since is not packed again; ``serialtrace.lifecycle``), and refused with a one-line
reason otherwise. All rows of one move go in one journal write: all or nothing. The journal
lock keeps a rework from running while the bridge runs the same work order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from line_bridge.aggregation import link_row
from line_bridge.journal import LineJournal
from serialtrace.errors import SerialtraceError
from serialtrace.lifecycle.machine import IllegalTransitionError, check_transition, unit_label
from serialtrace.lifecycle.store import read_events, replay_events


class ReworkRefusedError(SerialtraceError):
    """A rework move the packing, the camera verdicts or the lifecycle do not allow."""


@dataclass
class Packing:
    """The packing of one work order as it stands, rebuilt from its aggregate journal."""

    work_order_id: str
    line_id: str
    gtin: str
    case_size: int
    pallet_size: int
    cases: dict[str, list[str]] = field(default_factory=dict)  # case → serials in it
    pallets: dict[str, list[str]] = field(default_factory=dict)  # pallet → cases on it
    last_at: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    passed: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)  # serial → reject cause

    def case_of(self, serial: str) -> str | None:
        return next((c for c, items in self.cases.items() if serial in items), None)

    def pallet_of(self, case: str) -> str | None:
        return next((p for p, cases in self.pallets.items() if case in cases), None)

    def apply(self, row: dict[str, Any]) -> None:
        add = row["action"] == "ADD"
        if row["parent_level"] == "case":
            children = self.cases.setdefault(row["parent_sscc"], [])
            child = row["child_serial"]
        else:
            children = self.pallets.setdefault(row["parent_sscc"], [])
            child = row["child_sscc"]
        if add and child not in children:
            children.append(child)
        elif not add and child in children:
            children.remove(child)
        at = row["aggregated_at"]
        at = datetime.fromisoformat(at) if isinstance(at, str) else at
        self.last_at = max(self.last_at, at)


def _journal_dir(raw_line: Path, work_order_id: str) -> Path:
    return raw_line / "_journal" / f"work_order={work_order_id}"


def find_work_order(raw_line: Path, sscc: str) -> str:
    """The work order whose packing mentions ``sscc``."""
    found = []
    for folder in sorted((raw_line / "_journal").glob("work_order=*")):
        path = folder / "aggregate.jsonl"
        if path.exists() and sscc in path.read_text():
            found.append(folder.name.split("=", 1)[1])
    if len(found) != 1:
        where = "no work order" if not found else f"work orders {', '.join(found)}"
        raise ReworkRefusedError(f"SSCC {sscc} is packed in {where}: give --order")
    return found[0]


def _work_order(raw: Path, work_order_id: str) -> tuple[str, int, int, str]:
    """gtin, case size, pallet size, company prefix of the work order (master data)."""
    folder = raw / "masterdata"
    con = duckdb.connect()
    try:
        row = con.execute(
            f"""
            select w.gtin, w.case_size, w.pallet_size, c.company_prefix
            from read_parquet('{folder}/work_orders/*.parquet', union_by_name = true) w
            join read_parquet('{folder}/products/*.parquet', union_by_name = true) p using (gtin)
            join read_parquet('{folder}/companies/*.parquet', union_by_name = true) c
                on c.company_id = p.company_id
            where w.work_order_id = ?
            order by w.loaded_at desc, p.loaded_at desc
            limit 1
            """,
            [work_order_id],
        ).fetchone()
    except duckdb.Error as exc:
        raise SerialtraceError(f"cannot read the master data under {folder}: {exc}") from exc
    if row is None:
        raise SerialtraceError(f"work order {work_order_id} is not in the master data")
    return str(row[0]), int(row[1]), int(row[2]), str(row[3])


class Rework:
    """Rework moves on one work order; open it with :meth:`open`, then :meth:`close`."""

    def __init__(self, raw: Path, work_order_id: str) -> None:
        self.raw = raw
        raw_line = raw / "line"
        folder = _journal_dir(raw_line, work_order_id)
        if not (folder / "aggregate.jsonl").exists():
            raise ReworkRefusedError(f"work order {work_order_id} has not been packed")
        gtin, case_size, pallet_size, self.company_prefix = _work_order(raw, work_order_id)
        aggregate = list(_rows(folder / "aggregate.jsonl"))
        line_id = next(
            (r["line_id"] for r in aggregate),
            next((r["line_id"] for r in _rows(folder / "print.jsonl")), "unknown"),
        )
        self.packing = Packing(work_order_id, line_id, gtin, case_size, pallet_size)
        for row in aggregate:
            self.packing.apply(row)
        for row in _rows(folder / "inspect.jsonl"):
            if row["outcome"] == "pass":
                self.packing.passed.add(row["expected_serial"])
            else:
                self.packing.failed[row["expected_serial"]] = row["cause"]
        self.journal = LineJournal(raw_line, work_order_id, line_id)  # takes the lock
        self.journal.recover()

    def close(self) -> None:
        self.journal.close()

    # -- moves ----------------------------------------------------------------------------
    def unpack(self, sscc: str) -> list[dict[str, Any]]:
        """Empty a case (its items become loose; off its pallet too) or a pallet (its
        cases stay packed)."""
        p = self.packing
        rows: list[dict[str, Any]] = []
        at = self._at()
        if sscc in p.cases:
            items = p.cases[sscc]
            pallet = p.pallet_of(sscc)
            if not items and pallet is None:
                raise ReworkRefusedError(f"case {sscc} is empty: nothing to unpack")
            for serial in items:
                self._check(serial, "aggregated", "commissioned")
            rows += [self._row("DELETE", sscc, "case", at, 0, serial=s) for s in items]
            if pallet is not None:
                left = len(p.pallets[pallet]) - 1
                rows.append(self._row("DELETE", pallet, "pallet", at, left, case=sscc))
        elif sscc in p.pallets:
            cases = p.pallets[sscc]
            if not cases:
                raise ReworkRefusedError(f"pallet {sscc} is empty: nothing to unpack")
            rows += [self._row("DELETE", sscc, "pallet", at, 0, case=c) for c in cases]
        else:
            raise self._unknown(sscc)
        return self._write(rows)

    def replace(self, case: str, remove: str, add: str) -> list[dict[str, Any]]:
        """Take item ``remove`` out of ``case`` and put item ``add`` in its place."""
        p = self.packing
        if case not in p.cases:
            raise self._unknown(case, "case")
        if remove not in p.cases[case]:
            where = p.case_of(remove)
            raise ReworkRefusedError(
                f"item {remove} is not in case {case}"
                + (f" (it is in case {where})" if where else "")
            )
        self._check(remove, "aggregated", "commissioned")
        self._eligible_item(add)
        at = self._at()
        count = len(p.cases[case])
        return self._write(
            [
                self._row("DELETE", case, "case", at, count, serial=remove),
                self._row("ADD", case, "case", at + timedelta(microseconds=1), count, serial=add),
            ]
        )

    def pack(
        self, parent: str, level: str, children: list[str], new_sscc: Callable[[str], str]
    ) -> list[dict[str, Any]]:
        """Put loose items into a case, or closed cases onto a pallet (``parent`` 'new':
        a fresh SSCC from the serial ledger)."""
        p = self.packing
        if len(set(children)) != len(children):
            raise ReworkRefusedError("a child is named twice")
        existing = p.cases if level == "case" else p.pallets
        if parent == "new":
            parent = new_sscc(level)
        elif parent not in existing:
            raise self._unknown(parent, level)
        for child in children:
            if level == "case":
                self._eligible_item(child)
            else:
                self._eligible_case(child)
        size = p.case_size if level == "case" else p.pallet_size
        count = len(existing.get(parent, [])) + len(children)
        if count > size:
            raise ReworkRefusedError(f"{level} {parent} would hold {count}, more than {size}")
        at = self._at()
        if level == "case":
            rows = [self._row("ADD", parent, "case", at, count, serial=s) for s in children]
        else:
            rows = [self._row("ADD", parent, "pallet", at, count, case=c) for c in children]
        return self._write(rows)

    # -- checks ---------------------------------------------------------------------------
    def _eligible_item(self, serial: str) -> None:
        p = self.packing
        if serial in p.failed:
            raise ReworkRefusedError(f"item {serial} was rejected at the line ({p.failed[serial]})")
        if serial not in p.passed:
            raise ReworkRefusedError(
                f"item {serial} has no camera pass in work order {p.work_order_id}"
            )
        case = p.case_of(serial)
        if case is not None:
            raise ReworkRefusedError(f"item {serial} is already in case {case}: unpack it first")
        self._check(serial, "commissioned", "aggregated")

    def _eligible_case(self, case: str) -> None:
        p = self.packing
        if case not in p.cases:
            raise self._unknown(case, "case")
        if not p.cases[case]:
            raise ReworkRefusedError(f"case {case} is empty")
        pallet = p.pallet_of(case)
        if pallet is not None:
            raise ReworkRefusedError(f"case {case} is already on pallet {pallet}: unpack it first")

    def _check(self, serial: str, from_state: str, to_state: str) -> None:
        """The lifecycle allows the move: the unit's status as the line left it, with the
        lifecycle events recorded since (decommissioning, shipping) applied."""
        key = (self.packing.gtin, serial)
        status = replay_events({key: from_state}, read_events(self.raw, [key]))[key][0]
        try:
            check_transition(unit_label(*key), status, to_state)
        except IllegalTransitionError as exc:
            raise ReworkRefusedError(str(exc)) from None

    def _unknown(self, sscc: str, level: str = "case or pallet") -> ReworkRefusedError:
        return ReworkRefusedError(
            f"{sscc} is not a {level} of work order {self.packing.work_order_id}"
        )

    # -- rows -----------------------------------------------------------------------------
    def _at(self) -> datetime:
        """Now, and after every earlier packing event of the batch (replay order)."""
        return max(datetime.now(UTC), self.packing.last_at + timedelta(microseconds=1))

    def _row(
        self,
        action: str,
        parent: str,
        level: str,
        at: datetime,
        count: int,
        serial: str | None = None,
        case: str | None = None,
    ) -> dict[str, Any]:
        p = self.packing
        size = p.case_size if level == "case" else p.pallet_size
        if level == "case":
            row = link_row(parent, "case", "item", at, count == size, p.gtin, child_serial=serial)
        else:
            row = link_row(parent, "pallet", "case", at, count == size, child_sscc=case)
        row["action"] = action
        return row

    def _write(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.journal.write("aggregate", *rows)  # one write: the whole move or nothing
        for row in rows:
            self.packing.apply(row)
        return rows


def _rows(path: Path) -> list[dict[str, Any]]:
    """The complete rows of a journal file (a torn last line is never used)."""
    if not path.exists():
        return []
    with path.open("rb") as handle:
        return [json.loads(line) for line in handle if line.endswith(b"\n")]
