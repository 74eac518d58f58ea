"""Property tests: the parsers and the validation never crash on odd input; they reject
it with a reason, or accept it."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.erp.records import FileFormatError, ParsedFile, parse_date
from ingest.erp.sap_idoc import parse_idoc, render_batmas
from ingest.erp.validate import Known, validate

TODAY = dt.date(2026, 11, 25)
GTIN = "00312345678906"


@given(st.text(max_size=30))
def test_parse_date_returns_a_date_or_records_a_reason(text: str) -> None:
    out = ParsedFile()
    value = parse_date(text, "rec", "expiry", out)
    assert (value is None) == bool(out.errors)


@settings(max_examples=60)
@given(
    made=st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)),
    shelf_days=st.integers(-400, 5000),
    status=st.sampled_from(["released", "blocked", "quarantine", "recalled"]),
    quantity=st.one_of(st.none(), st.integers(0, 10**9)),
)
def test_batch_round_trips_through_batmas_or_is_rejected_with_a_reason(
    made: dt.date, shelf_days: int, status: str, quantity: int | None
) -> None:
    lot = {
        "erp_material": "FG-1",
        "lot": "L1",
        "expiry": made + dt.timedelta(days=shelf_days),
        "manufactured_on": made,
        "release_status": status,
        "quantity": quantity,
    }
    parsed = parse_idoc(render_batmas([lot], "T", dt.datetime(2026, 1, 1, tzinfo=dt.UTC)), "C")
    result = validate(parsed, Known(frozenset({GTIN}), {"FG-1": GTIN}), TODAY)
    should_pass = 0 < shelf_days <= 365 * 10 and made <= TODAY + dt.timedelta(days=1)
    if should_pass:
        assert not result.errors
        [row] = result.rows["lots"]
        assert (row["expiry"], row["release_status"], row["quantity"]) == (
            lot["expiry"],
            status,
            quantity,
        )
    elif shelf_days <= 0 or made > TODAY + dt.timedelta(days=1):
        assert result.errors and not result.rows["lots"]


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_idoc_parser(data: bytes) -> None:
    try:
        parsed = parse_idoc(data, "C")
    except FileFormatError:
        return
    validate(parsed, Known(), TODAY)
