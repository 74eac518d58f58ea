"""Partner licences: CSV validation, the all-or-nothing loader, the CLI, and the warehouse
(SCD2 versions and the as-of check of every shipment) built from real loads."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from epcis.shipping import SHIPMENT_SCHEMA
from ingest.schemas import PARTNER_LICENCE_SCHEMA
from partners.licence_loader import licence_versions, licences_dir, load_licences
from partners.licences import parse_licences, standing
from serialtrace.acting import POLICY, command_trail
from serialtrace.cli import main
from serialtrace.errors import ConfigurationError, ValidationError
from serialtrace.gs1.keys import make_sscc
from serialtrace.io.parquet import rows_to_table, write_atomic
from serialtrace.settings import Home
from serialtrace.users import UserStore
from tests.transforms.dbt_harness import run_dbt

UTC = dt.UTC
HEADER = (
    "partner_id,partner_gln,licence_type,licence_number,issuing_authority,state,"
    "valid_from,valid_to,status"
)
ACME = "0614141000012"  # acme's party GLN
ACME_SHIP_TO = "0614141000029"
BRAVO = "0614142000011"
BRAVO_SHIP_TO = "0614142000028"
NOBODY = "0614143000010"
NOW = dt.datetime(2026, 11, 1, tzinfo=UTC)


def at(day: str, hour: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def write(path: Path, *lines: str, header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


# ------------------------------------------------------------------- validation (pure)


def test_a_valid_file_gives_typed_rows() -> None:
    data = (
        "\ufeffpartner_id,partner_gln,licence_type,licence_number,issuing_authority,"
        "valid_from,status,valid_to,changed_at\n"
        f"acme,{ACME},Wholesale_Distributor,WD-1,NJ Board of Pharmacy,2024-07-01,ACTIVE,,"
        "2026-01-02T08:00:00+01:00\n"
        "\n"
    ).encode()
    parsed = parse_licences(data, NOW)
    assert parsed.errors == []
    assert parsed.rows == [
        {
            "partner_id": "acme",
            "partner_gln": ACME,
            "licence_type": "wholesale_distributor",
            "licence_number": "WD-1",
            "issuing_authority": "NJ Board of Pharmacy",
            "state": None,
            "valid_from": dt.date(2024, 7, 1),
            "valid_to": None,
            "status": "active",
            "source_changed_at": dt.datetime(2026, 1, 2, 7, tzinfo=UTC),
        }
    ]


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        (f"acme,{ACME[:-1]}3,3pl,L1,NJ,NJ,2025-01-01,,active", "partner_gln", "check digit"),
        (f"acme,{ACME},wholesaler,L1,NJ,NJ,2025-01-01,,active", "licence_type", "must be one of"),
        (f"acme,{ACME},3pl,L1,NJ,NJ,2025-01-01,,expired", "status", "must be one of"),
        (f"acme,{ACME},3pl,L1,NJ,NJ,01/02/2025,,active", "valid_from", "YYYY-MM-DD"),
        (f"acme,{ACME},3pl,L1,NJ,NJ,2025-02-30,,active", "valid_from", "YYYY-MM-DD"),
        (f"acme,{ACME},3pl,L1,NJ,NJ,2025-01-01,2024-12-31,active", "valid_to", "before valid_from"),
        (f",{ACME},3pl,L1,NJ,NJ,2025-01-01,,active", "partner_id", "is required"),
        (f"acme,{ACME},3pl,,NJ,NJ,2025-01-01,,active", "licence_number", "is required"),
        (f"acme,{ACME},3pl,L1,NJ,NJ,2025-01-01,,active,extra", "columns", "more values"),
    ],
)
def test_each_rule_is_named_with_its_line(line: str, field: str, reason: str) -> None:
    parsed = parse_licences(f"{HEADER}\n{line}\n".encode(), NOW)
    assert parsed.rows == []
    assert [(e.where, e.field) for e in parsed.errors] == [("line 2", field)]
    assert reason in parsed.errors[0].reason


@pytest.mark.parametrize(
    ("changed_at", "reason"),
    [
        ("2026-01-02T08:00:00", "needs a time zone"),
        ("2099-01-01T00:00:00Z", "is in the future"),
        ("yesterday", "ISO 8601"),
    ],
)
def test_changed_at_must_be_a_past_instant_with_zone(changed_at: str, reason: str) -> None:
    data = f"{HEADER},changed_at\nacme,{ACME},3pl,L1,NJ,NJ,2025-01-01,,active,{changed_at}\n"
    [error] = parse_licences(data.encode(), NOW).errors
    assert (error.field, reason in error.reason) == ("changed_at", True)


def test_header_and_duplicate_problems_reject_the_file() -> None:
    bad_header = parse_licences(b"partner_id,partner_gln,licence_no\n", NOW).errors
    assert {(e.where, e.field, e.reason) for e in bad_header} >= {
        ("header", "licence_number", "required column is missing"),
        ("header", "licence_no", "unknown column"),
    }
    assert [str(e) for e in parse_licences(f"{HEADER}\n".encode(), NOW).errors] == [
        "file: rows: holds no licence"
    ]
    row = f"acme,{ACME},3pl,L1,NJ,NJ,2025-01-01,,active"
    assert parse_licences(f"{HEADER}\n{row}\n{row}\n".encode(), NOW).errors == []  # a repeat
    conflict = parse_licences(
        f"{HEADER}\n{row}\n{row.replace('active', 'revoked')}\n".encode(), NOW
    )
    assert [e.reason for e in conflict.errors] == [
        "appears twice with different values in one file"
    ]
    assert parse_licences(b"\xff\xfe", NOW).errors[0].reason == "is not UTF-8"


def test_standing_of_a_licence_on_a_day() -> None:
    d = dt.date
    assert standing("active", d(2025, 1, 1), d(2025, 12, 31), d(2025, 12, 31)) == "valid"
    assert standing("active", d(2025, 1, 1), d(2025, 12, 31), d(2026, 1, 1)) == "expired"
    assert standing("active", d(2025, 1, 1), None, d(2024, 12, 31)) == "not_yet_valid"
    assert standing("active", d(2025, 1, 1), None, d(2099, 1, 1)) == "valid"
    assert standing("suspended", d(2025, 1, 1), None, d(2025, 6, 1)) == "suspended"
    assert standing("revoked", d(2025, 1, 1), None, d(2025, 6, 1)) == "revoked"


# ------------------------------------------------------------------------------ loader


def test_a_bad_file_lands_nothing_and_goes_to_quarantine_with_reasons(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    good = f"acme,{ACME},3pl,L1,NJ,NJ,2025-01-01,,active"
    bad = write(tmp_path / "lic.csv", good, f"bravo,{BRAVO},3pl,L2,NY,NY,2025-01-01,,lapsed")
    result = load_licences(home, bad, now=NOW)
    assert result.outcome == "quarantined" and result.rows == 0
    assert not any(licences_dir(home).glob("*.parquet"))  # not even the good row
    assert bad.is_file()  # the user's file stays where it was
    assert result.path is not None and result.path.read_bytes() == bad.read_bytes()
    with result.path.with_name(result.path.name + ".reasons.csv").open() as f:
        assert list(csv.reader(f)) == [
            ["record", "field", "reason"],
            ["line 3", "status", "must be one of active, suspended, revoked"],
        ]


def test_a_good_file_lands_once_with_its_provenance(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    path = write(tmp_path / "lic.csv", f"acme,{ACME},3pl,L1,NJ,NJ,2025-01-01,,active")
    first = load_licences(home, path, source="nabp-export", now=NOW)
    assert (first.outcome, first.rows) == ("loaded", 1)
    assert first.path is not None
    table = pq.read_table(first.path)
    assert table.schema.equals(PARTNER_LICENCE_SCHEMA, check_metadata=False)
    [row] = table.to_pylist()
    assert (row["source"], row["source_file"], row["load_id"]) == (
        "nabp-export",
        "lic.csv",
        first.load_id,
    )
    assert row["loaded_at"] == NOW and row["loaded_by"] == "service"
    again = load_licences(home, path, now=NOW + dt.timedelta(days=1))
    assert (again.outcome, again.rows) == ("already loaded", 1)
    assert len(list(licences_dir(home).glob("*.parquet"))) == 1
    with pytest.raises(ConfigurationError, match="is not a file"):
        load_licences(home, tmp_path / "missing.csv")
    with pytest.raises(ValidationError, match="--source: must not be empty"):
        load_licences(home, path, source=" ")


def test_cli_load_and_list_show_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path / "home")
    v1 = write(
        tmp_path / "v1.csv",
        f"acme,{ACME},wholesale_distributor,WD-1,NJ,NJ,2024-07-01,2026-06-30,active",
    )
    v2 = write(
        tmp_path / "v2.csv",
        f"acme,{ACME},wholesale_distributor,WD-1,NJ,NJ,2024-07-01,2028-06-30,active",
        f"bravo,{BRAVO},dispenser,PH-7,NY,NY,2025-01-01,,suspended",
    )
    bad = write(tmp_path / "bad.csv", f"acme,{ACME},wholesaler,WD-2,NJ,NJ,2024-07-01,,active")
    assert main(["partners", "licences", "load", str(v1), "--home", home]) == 0
    assert "v1.csv loaded (1 licences" in capsys.readouterr().out
    assert main(["partners", "licences", "load", str(v2), "--home", home]) == 0
    capsys.readouterr()
    assert main(["partners", "licences", "load", str(bad), "--home", home]) == 2
    captured = capsys.readouterr()
    assert "line 2: licence_type: must be one of" in captured.out
    assert "bad.csv rejected whole: 1 broken rules, nothing loaded" in captured.err

    assert main(["partners", "licences", "list", "--home", home]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert "WD-1" in out[0] and "2024-07-01..2028-06-30" in out[0] and " v2 " in out[0]
    assert "PH-7" in out[1] and "today: suspended" in out[1]
    assert (
        main(["partners", "licences", "list", "--history", "--partner", "acme", "--home", home])
        == 0
    )
    history = capsys.readouterr().out.splitlines()
    assert [(" v1 " in h, " v2 " in h) for h in history] == [(True, False), (False, True)]
    assert main(["partners", "licences", "list", "--partner", "zulu", "--home", home]) == 0
    assert capsys.readouterr().out.strip() == "no licence on record for partner zulu"


def test_the_commands_are_classified() -> None:
    assert POLICY["partners licences load"].kind == "change"
    assert POLICY["partners licences list"].kind == "read"


# ---------------------------------------------------------------------------- warehouse


def _shipment(shipment_id: str, when: dt.datetime, party: str, ship_to: str) -> dict[str, Any]:
    return {
        "shipment_id": shipment_id,
        "despatched_at": when,
        "po_number": None,
        "despatch_advice": shipment_id,
        "source_party_gln": "0614143000010",
        "source_location_gln": "0614143000010",
        "destination_party_gln": party,
        "destination_location_gln": ship_to,
        "sscc": make_sscc("0614141", 0, int(shipment_id[1:]) + 1),
        "level": "pallet",
        "work_order_id": "WO-1",
        "recorded_by": "test",
        "recorded_at": when,
    }


def test_shipments_are_checked_against_the_licence_version_of_their_time(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    nj = "acme,{gln},wholesale_distributor,WD-1,NJ Board of Pharmacy,NJ,2024-07-01,{until},active"
    ph7 = f"bravo,{BRAVO_SHIP_TO},dispenser,PH-7,NY Board of Pharmacy,NY,2025-01-01,,{{status}}"
    loads = [
        # first load: acme's NJ licence (expires 2026-06-30), bravo's ship-to licence
        (at("2026-01-01"), [nj.format(gln=ACME, until="2026-06-30"), ph7.format(status="active")]),
        # the same two again a month later: no new version
        (at("2026-02-01"), [ph7.format(status="active"), nj.format(gln=ACME, until="2026-06-30")]),
        # the renewal is loaded on 07-03, after the licence lapsed on 06-30
        (at("2026-07-03"), [nj.format(gln=ACME, until="2028-06-30")]),
    ]
    for n, (when, lines) in enumerate(loads):
        load = load_licences(home, write(tmp_path / f"load{n}.csv", *lines), now=when)
        assert load.outcome == "loaded", load.line()
    # the board suspended PH-7 on 08-01; the export saying so is loaded on 08-10
    suspension = write(
        tmp_path / "suspension.csv",
        ph7.format(status="suspended") + ",2026-08-01T00:00:00Z",
        header=HEADER + ",changed_at",
    )
    assert load_licences(home, suspension, now=at("2026-08-10")).outcome == "loaded"

    shipments = [
        _shipment("S1", at("2026-06-15", 10), ACME, ACME_SHIP_TO),  # licence valid
        _shipment("S2", at("2026-07-02", 10), ACME, ACME_SHIP_TO),  # lapsed, renewal not yet in
        _shipment("S3", at("2026-07-05", 10), ACME, ACME_SHIP_TO),  # renewed
        _shipment("S4", at("2026-07-05", 10), BRAVO, BRAVO_SHIP_TO),  # ship-to licence valid
        _shipment("S5", at("2026-08-05", 10), BRAVO, BRAVO_SHIP_TO),  # suspended since 08-01
        _shipment("S6", at("2026-07-05", 10), NOBODY, NOBODY),  # no licence at all
        _shipment("S0", at("2025-12-01", 10), ACME, ACME_SHIP_TO),  # before any load
    ]
    write_atomic(
        home.raw / "shipments" / "part-test.parquet", rows_to_table(shipments, SHIPMENT_SCHEMA)
    )
    warehouse = tmp_path / "warehouse.duckdb"
    run = run_dbt(
        ["build", "--select", "+shipment_licence_check+"],
        raw_dir=home.raw,
        warehouse=warehouse,
        work_dir=tmp_path / "dbt",
    )
    assert run.success, run.failed()
    statuses = run.statuses()
    for name in (
        "assert_partner_licence_versions_are_a_chain",
        "assert_every_shipment_has_one_licence_check",
        "test_shipment_licence_check_as_of_despatch_time",
    ):
        assert statuses.get(name) == "pass", (name, statuses.get(name))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        versions = con.execute(
            "select licence_number, version_number, licence_valid_to, licence_status,"
            " valid_from, is_current from int_partner_licences_versioned order by 1, 2"
        ).fetchall()
        checks = con.execute(
            "select shipment_id, licence_check, licence_number, licence_version"
            " from shipment_licence_check order by 1"
        ).fetchall()
    d = dt.date
    assert [(*v[:4], v[5]) for v in versions] == [
        ("PH-7", 1, None, "active", False),
        ("PH-7", 2, None, "suspended", True),
        ("WD-1", 1, d(2026, 6, 30), "active", False),
        ("WD-1", 2, d(2028, 6, 30), "active", True),
    ]
    valid_from = {(v[0], v[1]): v[4] for v in versions}
    assert valid_from[("PH-7", 2)] == at("2026-08-01")  # the source's change time
    assert valid_from[("WD-1", 2)] == at("2026-07-03")  # the load time
    assert checks == [
        ("S0", "none_on_record", None, None),
        ("S1", "valid", "WD-1", 1),
        ("S2", "expired", "WD-1", 1),
        ("S3", "valid", "WD-1", 2),
        ("S4", "valid", "PH-7", 1),
        ("S5", "suspended", "PH-7", 2),
        ("S6", "none_on_record", None, None),
    ]
    # the CLI's list folds the same versions
    assert [(v["licence_number"], v["version_number"]) for v in licence_versions(home)] == [
        ("WD-1", 1),
        ("WD-1", 2),
        ("PH-7", 1),
        ("PH-7", 2),
    ]


def test_two_versions_cannot_start_at_the_same_instant(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    header = HEADER + ",changed_at"
    row = f"acme,{ACME},3pl,L1,NJ,NJ,2025-01-01,,{{status}},2026-03-01T00:00:00Z"
    first = write(tmp_path / "a.csv", row.format(status="active"), header=header)
    assert load_licences(home, first, now=NOW).outcome == "loaded"
    same = write(
        tmp_path / "b.csv",
        row.format(status="active"),
        f"x,{ACME},3pl,L9,NJ,NJ,2025-01-01,,active,",
        header=header,
    )
    assert load_licences(home, same, now=NOW).outcome == "loaded"  # the same values: fine
    clash = write(tmp_path / "c.csv", row.format(status="revoked"), header=header)
    result = load_licences(home, clash, now=NOW)
    assert result.outcome == "quarantined"
    assert [(e.field, "already starts at 2026-03-01" in e.reason) for e in result.errors] == [
        ("changed_at", True)
    ]


def test_loading_needs_an_admin_and_names_the_acting_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SERIALTRACE_USER", raising=False)
    monkeypatch.delenv("SERIALTRACE_CLIENT", raising=False)
    home = Home(tmp_path / "home").ensure()
    store = UserStore(home.users_db)
    store.add("sa", "password1", full_name="SA", roles=["serialization_admin"], by="test")
    store.add("aud", "password1", full_name="Auditor", roles=["auditor"], by="test")
    path = write(tmp_path / "lic.csv", f"acme,{ACME},3pl,L1,NJ,NJ,2025-01-01,,active")
    h = ["--home", str(home.root)]
    assert main(["partners", "licences", "load", str(path), "--user", "aud", *h]) == 2
    assert "needs a role among admin, serialization_admin" in capsys.readouterr().err
    assert not licences_dir(home).exists() or not any(licences_dir(home).iterdir())
    assert main(["partners", "licences", "load", str(path), "--user", "sa", *h]) == 0
    assert main(["partners", "licences", "list", "--user", "aud", *h]) == 0
    assert "L1" in capsys.readouterr().out
    [row] = pq.read_table(next(licences_dir(home).glob("*.parquet"))).to_pylist()
    assert row["loaded_by"] == "sa"
    [entry] = [e for e in command_trail(home).entries() if e.command == "partners licences load"]
    assert (entry.user, entry.outcome) == ("sa", "done")


def test_a_home_without_licences_or_shipments_builds_empty(tmp_path: Path) -> None:
    home = Home(tmp_path / "home").ensure()
    warehouse = tmp_path / "warehouse.duckdb"
    run = run_dbt(
        ["build", "--select", "+shipment_licence_check", "--exclude", "test_type:unit"],
        raw_dir=home.raw,
        warehouse=warehouse,
        work_dir=tmp_path / "dbt",
    )
    assert run.success, run.failed()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in (
            "stg_masterdata__partner_licences",
            "int_partner_licences_versioned",
            "shipment_licence_check",
        ):
            assert con.execute(f"select count(*) from {table}").fetchone() == (0,), table
        types = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_name = 'stg_masterdata__partner_licences'"
            ).fetchall()
        )
    assert types["licence_valid_to"] == "DATE"
    assert types["changed_at"] == "TIMESTAMP WITH TIME ZONE"
