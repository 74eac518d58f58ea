from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import serialtrace.serials.ledger as ledger_module
from serialtrace.errors import ValidationError
from serialtrace.serials.ledger import (
    ALPHANUMERIC,
    NUMERIC,
    Pool,
    PoolExhaustedError,
    SerialLedger,
)
from serialtrace.serials.randomness import check_randomness

GTIN = "09506000134352"


def _ledger(tmp_path: Path) -> SerialLedger:
    return SerialLedger(tmp_path / "serials.sqlite")


def test_one_pool_per_client_gtin_and_market(tmp_path: Path) -> None:
    with _ledger(tmp_path) as ledger:
        ledger.ensure_pool(
            Pool("A", GTIN, "EU-FMD", 12, ALPHANUMERIC, True, client="C1", prefix="A")
        )
        with pytest.raises(ValidationError, match="already the pool of client C1"):
            ledger.ensure_pool(
                Pool("B", GTIN, "EU-FMD", 12, ALPHANUMERIC, True, client="C1", prefix="B")
            )


def test_ranges_of_markets_and_clients_never_overlap(tmp_path: Path) -> None:
    with _ledger(tmp_path) as ledger:
        ledger.ensure_pool(
            Pool("EU", GTIN, "EU-FMD", 12, ALPHANUMERIC, True, client="C1", prefix="E")
        )
        # a whole-space pool of the same length would overlap the EU prefix
        with pytest.raises(ValidationError, match="overlaps pool EU"):
            ledger.ensure_pool(Pool("US", GTIN, "US-DSCSA", 12, ALPHANUMERIC, True, client="C1"))
        # digits only sort before "E": no overlap
        ledger.ensure_pool(Pool("N", GTIN, "XX", 12, NUMERIC, True, client="C1"))
        # another prefix, another length, or another GTIN is fine
        ledger.ensure_pool(
            Pool("US", GTIN, "US-DSCSA", 12, ALPHANUMERIC, True, client="C1", prefix="U")
        )
        ledger.ensure_pool(Pool("SA", GTIN, "SA-SFDA", 13, NUMERIC, True, client="C1"))
        ledger.ensure_pool(
            Pool("OTHER", "00312345678906", "EU-FMD", 12, NUMERIC, True, client="C1")
        )
        seq = Pool("S1", GTIN, "XX", 6, NUMERIC, False, client="C2", first="100000", last="199999")
        ledger.ensure_pool(seq)
        with pytest.raises(ValidationError, match="overlaps pool S1"):
            ledger.ensure_pool(
                Pool(
                    "S2", GTIN, "YY", 6, NUMERIC, False, client="C3", first="199999", last="299999"
                )
            )
        ledger.ensure_pool(
            Pool("S2", GTIN, "YY", 6, NUMERIC, False, client="C3", first="200000", last="299999")
        )
        assert ledger.allocate("S2", 2, "WO") == ["200000", "200001"]
        assert all(s.startswith("U") for s in ledger.allocate("US", 50, "WO"))


def test_the_same_serial_can_never_exist_twice_for_a_gtin(tmp_path: Path) -> None:
    """Whatever the pools say, the primary key (gtin, serial) refuses a second row."""
    with _ledger(tmp_path) as ledger:
        ledger.ensure_pool(Pool("S", GTIN, "XX", 4, NUMERIC, False))
        ledger.allocate("S", 3, "WO")
    con = sqlite3.connect(tmp_path / "serials.sqlite")
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("insert into serials values (1, '0001', 1, null)")


def test_collisions_are_detected_dropped_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ledger_module.random_text
    draws = iter(["000007000007000008", "000007"])  # a serial drawn twice, then one taken

    def rigged(alphabet: str, characters: int) -> str:
        try:
            text = next(draws)
        except StopIteration:
            return real(alphabet, characters)
        return text[:characters].ljust(characters, "0") if len(text) < characters else text

    with _ledger(tmp_path) as ledger:
        pool = ledger.ensure_pool(
            Pool("R", GTIN, "EU", 6, NUMERIC, True, max_guess_probability=1e-4)
        )
        monkeypatch.setattr(ledger_module, "random_text", rigged)
        first = ledger.allocate(pool, 3, "WO-1")
        assert len(first) == len(set(first)) == 3 and {"000007", "000008"} <= set(first)
        second = ledger.allocate(pool, 5, "WO-2")
        assert not set(first) & set(second) and len(set(second)) == 5
        assert ledger.issued_count("R") == 8


def test_import_rejects_and_reports_nothing_half_imported(tmp_path: Path) -> None:
    with _ledger(tmp_path) as ledger:
        ledger.ensure_pool(Pool("SEQ", GTIN, "US", 6, NUMERIC, False, client="CMO"))
        ledger.allocate("SEQ", 1, "WO")  # 000000 issued
        ledger.ensure_pool(
            Pool(
                "IMP",
                GTIN,
                "EU",
                20,
                ledger_module.CSET82_ALPHABET,
                False,
                imported=True,
                client="BO",
            )
        )
        lines = [
            "ABC-1\n",
            "ABC-2\r\n",
            "\n",
            "ABC-1\n",
            "bad serial\n",
            "X" * 21 + "\n",
            "123456\n",
        ]
        report = ledger.import_serials("IMP", lines, "brand.txt")
        assert not report.committed and ledger.usage("IMP")[0].imported == 0
        assert [(r.line, r.reason.split(" ")[0]) for r in report.rejected] == [
            (4, "duplicate"),
            (5, "character"),
            (6, "length"),
            (7, "inside"),  # in the range of pool SEQ
        ]
        report = ledger.import_serials("IMP", lines, "brand.txt", accept_valid=True)
        assert report.committed and report.accepted == 2
        again = ledger.import_serials("IMP", ["ABC-2", "ABC-3"], "second.txt")
        assert [r.reason for r in again.rejected] == ["already in the ledger (pool IMP)"]
        ledger.import_serials("IMP", ["ABC-3", "ABC-4"], "second.txt")
        assert ledger.allocate("IMP", 3, "WO-1") == ["ABC-1", "ABC-2", "ABC-3"]
        with pytest.raises(PoolExhaustedError, match="2 serials requested, 1 left"):
            ledger.allocate("IMP", 2, "WO-2")
        assert ledger.allocate("IMP", 1, "WO-2") == ["ABC-4"]
        with pytest.raises(ValidationError, match="import into an imported pool"):
            ledger.import_serials("SEQ", ["1"], "x")


def test_usage_warning_and_burn_down_forecast(tmp_path: Path) -> None:
    with _ledger(tmp_path) as ledger:
        ledger.ensure_pool(Pool("S", GTIN, "US", 3, NUMERIC, False, warn_below=0.5))
        ledger.allocate("S", 300, "WO-1")
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        usage = ledger.usage("S", now=tomorrow)[0]
        assert (usage.issued, usage.capacity, usage.remaining, usage.low) == (300, 1000, 700, False)
        assert usage.rate_per_day == pytest.approx(300, rel=0.01)
        assert usage.runs_out_on == (tomorrow + timedelta(days=700 / 300)).date()
        block = ledger.allocate_block("S", 250, "WO-2")
        assert block.low and block.remaining == 450
        assert ledger.usage("S")[0].low


def test_randomness_check_passes_random_and_fails_sequential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _ledger(tmp_path) as ledger:
        rnd = ledger.ensure_pool(
            Pool("R", GTIN, "EU", 12, ALPHANUMERIC, True, client="A", prefix="R")
        )
        ledger.allocate(rnd, 20_000, "WO")
        report = check_randomness(rnd, ledger.issued_serials("R"))
        assert report.passed, report.findings
        assert report.guess_probability == 20_000 / 34**11
        seq = ledger.ensure_pool(Pool("S", GTIN, "US", 6, NUMERIC, False, client="B"))
        ledger.allocate(seq, 500, "WO")
        assert not check_randomness(seq, ledger.issued_serials("S")).passed
        # a "randomized" pool whose generator is broken and counts up is caught
        forged = ledger.ensure_pool(
            Pool("F", GTIN, "EU", 12, NUMERIC, True, client="C", prefix="9")
        )
        monkeypatch.setattr(
            ledger_module, "random_text", lambda _a, n: "".join(f"{i:011d}" for i in range(n // 11))
        )
        ledger.allocate(forged, 2000, "WO")
        report = check_randomness(forged, ledger.issued_serials("F"))
        assert not report.passed and report.longest_run == 2000


def test_a_ledger_of_the_first_schema_is_carried_over(tmp_path: Path) -> None:
    path = tmp_path / "serials.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        """
        create table pools (pool_id text primary key, gtin text, market text, length integer,
            alphabet text, randomized integer, created_at text);
        create table issued (pool_id text, serial text, work_order_id text, issued_at text,
            primary key (pool_id, serial)) without rowid;
        create table sequences (name text primary key, next_value integer not null);
        insert into pools values ('P', '00312345678906', 'US-DSCSA', 3, '0123456789', 0, 't');
        insert into issued values ('P', '000', 'WO-1', 't'), ('P', '001', 'WO-1', 't');
        insert into sequences values ('sscc:0312345', 42);
        """
    )
    con.close()
    with SerialLedger(path) as ledger:
        assert ledger.issued_count("P") == 2
        assert ledger.allocate("P", 2, "WO-2") == ["002", "003"]
        assert ledger.next_values("sscc:0312345", 1) == 42
