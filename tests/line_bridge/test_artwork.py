"""Artwork templates from the market profiles, with the national number where needed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

from line_bridge.artwork import lines_for
from line_bridge.runner import SimulatorOptions, run_simulated_batch
from serialtrace.errors import ValidationError
from serialtrace.gs1.element_string import parse
from tests.line_bridge.conftest import GTIN, batch, line_file, sscc

EXPIRY = date(2028, 10, 31)


def test_templates_follow_the_market_profiles() -> None:
    us = lines_for("us-dscsa", GTIN, "12345-678-90", "S1", "L1", EXPIRY)
    assert us == ["NDC 12345-678-90", "SN S1", "LOT L1", "EXP 2028-10-31"]
    eu = lines_for("eu-fmd", GTIN, None, "S1", "L1", EXPIRY)
    assert eu == [f"PC {GTIN}", "SN S1", "Lot L1", "EXP 2028-10"]
    # a member state that needs a national number gets the NN line; one that does not, not
    de = lines_for("eu-fmd", GTIN, None, "S1", "L1", EXPIRY, member_state="DE", nhrn="12345678")
    assert de == [f"PC {GTIN}", "SN S1", "NN 12345678", "Lot L1", "EXP 2028-10"]
    fr = lines_for("eu-fmd", GTIN, None, "S1", "L1", EXPIRY, member_state="FR", nhrn="1")
    assert fr == eu
    with pytest.raises(ValidationError, match="PZN"):
        lines_for("eu-fmd", GTIN, None, "S1", "L1", EXPIRY, member_state="DE")
    with pytest.raises(ValidationError, match="must match"):
        lines_for("eu-fmd", GTIN, None, "S1", "L1", EXPIRY, member_state="DE", nhrn="123")
    with pytest.raises(ValidationError, match="NDC"):
        lines_for("us-dscsa", GTIN, None, "S1", "L1", EXPIRY)


def test_national_number_is_printed_and_encoded(raw_line: Path) -> None:
    line = line_file(artwork="eu-fmd", member_state="DE")
    german = replace(batch(20), nhrn="12345678")
    result = run_simulated_batch(line, german, raw_line, sscc(), SimulatorOptions(seed=1))
    assert result.passed == 20
    rows = (
        duckdb.connect()
        .execute(f"select payload, hri from read_parquet('{raw_line}/print/*/*.parquet')")
        .fetchall()
    )
    for payload, hri in rows:
        assert parse(payload).get("710") == "12345678"
        assert "NN 12345678" in hri.split("\n")


def test_missing_national_number_stops_before_anything_runs(raw_line: Path) -> None:
    line = line_file(artwork="eu-fmd", member_state="DE")
    with pytest.raises(ValidationError, match="nhrn"):
        run_simulated_batch(line, batch(5), raw_line, sscc(), SimulatorOptions(seed=1))
