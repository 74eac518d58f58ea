from __future__ import annotations

import json
from pathlib import Path

import pytest

from serialtrace.cli import main

GTIN = "00312345678906"


def _run(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["serials", *args, "--home", str(home)])
    out, err = capsys.readouterr()
    return code, out, err


def test_create_allocate_pools_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, tmp_path, "pool", "create", "--market", "US-DSCSA",
                        "--client", "ACME", "--gtin", GTIN, "--json")  # fmt: skip
    assert code == 0
    pool = json.loads(out)
    assert pool["pool_id"] == f"ACME-US-DSCSA-{GTIN}" and pool["capacity"] == 10**7

    code, out, err = _run(capsys, tmp_path, "allocate", "--pool", pool["pool_id"],
                          "--count", "1,000", "--order", "WO-7", "--json")  # fmt: skip
    assert code == 0
    block = json.loads(out)
    assert block["work_order_id"] == "WO-7" and len(set(block["serials"])) == 1000
    assert block["remaining"] == 10**7 - 1000

    code, out, err = _run(capsys, tmp_path, "allocate", "--pool", pool["pool_id"], "--count", "3")
    assert code == 0 and len(out.split()) == 3 and "ALLOC-" in err

    code, out, _ = _run(capsys, tmp_path, "pools", "--json")
    (usage,) = json.loads(out)
    assert usage["issued"] == 1003 and usage["guess_probability"] == 1003 / 10**12
    assert usage["rate_per_day"] == pytest.approx(1003) and usage["runs_out_on"]

    code, out, _ = _run(capsys, tmp_path, "pools")
    assert pool["pool_id"] in out and "randomized" in out

    code, out, _ = _run(capsys, tmp_path, "check", "--pool", pool["pool_id"], "--json")
    assert code == 0 and json.loads(out)["passed"] is True


def test_errors_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, tmp_path, "pool", "create", "--market", "US-DSCSA", "--client", "A",
         "--gtin", GTIN, "--mode", "sequential", "--length", "2")  # fmt: skip
    code, _, err = _run(
        capsys, tmp_path, "allocate", "--pool", f"A-US-DSCSA-{GTIN}", "--count", "101"
    )
    assert code == 2 and err.strip() == (
        f"serialtrace: error: pool A-US-DSCSA-{GTIN}: 101 serials requested, 100 left"
    )
    code, _, err = _run(capsys, tmp_path, "allocate", "--pool", "nope", "--count", "1")
    assert code == 2 and "no pool 'nope'" in err
    code, _, err = _run(capsys, tmp_path, "pool", "create", "--market", "MARS", "--client", "A",
                        "--gtin", GTIN)  # fmt: skip
    assert code == 2 and "unknown market 'MARS'" in err
    code, _, err = _run(capsys, tmp_path, "pool", "create", "--market", "EU-FMD", "--client", "A",
                        "--gtin", "00312345678907")  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1 and "gtin" in err


def test_import_all_or_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, tmp_path, "pool", "create", "--market", "EU-FMD", "--client", "CMO",
         "--gtin", GTIN, "--mode", "imported", "--alphabet", "alphanumeric")  # fmt: skip
    pool = f"CMO-EU-FMD-{GTIN}"
    listing = tmp_path / "from-brand-owner.txt"
    listing.write_text("A1B2C3\nA1B2C4\nA1B2C3\nabc\n")
    code, _, err = _run(capsys, tmp_path, "import", "--pool", pool, str(listing))
    assert code == 2
    assert "line 3: 'A1B2C3': duplicate of line 1" in err
    assert "line 4: 'abc': character outside the pool's alphabet" in err
    assert err.strip().splitlines()[-1].startswith("serialtrace: error: import refused")
    code, out, _ = _run(capsys, tmp_path, "pools", "--json")
    assert json.loads(out)[0]["imported"] == 0
    code, out, _ = _run(capsys, tmp_path, "import", "--pool", pool, str(listing),
                        "--accept-valid", "--json")  # fmt: skip
    report = json.loads(out)
    assert code == 0 and report["imported"] == 2 and len(report["rejected"]) == 2
    code, out, _ = _run(capsys, tmp_path, "allocate", "--pool", pool, "--count", "2")
    assert out.split() == ["A1B2C3", "A1B2C4"]


def test_markets_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, tmp_path, "markets", "--json")
    assert code == 0
    assert {m["market"] for m in json.loads(out)} >= {"US-DSCSA", "EU-FMD", "SA-SFDA"}


def test_a_client_data_space_holds_only_its_own_clients_pools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from serialtrace.settings import Home

    monkeypatch.delenv("SERIALTRACE_USER", raising=False)
    Home(tmp_path).client("ACME").ensure()
    monkeypatch.setenv("SERIALTRACE_CLIENT", "ACME")
    code, _, err = _run(capsys, tmp_path, "pool", "create", "--market", "US-DSCSA",
                        "--client", "BETA", "--gtin", GTIN)  # fmt: skip
    assert code == 2 and "pool client 'BETA' is not this data space's client 'ACME'" in err
    code, out, _ = _run(capsys, tmp_path, "pool", "create", "--market", "US-DSCSA",
                        "--client", "ACME", "--gtin", GTIN, "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["client"] == "ACME"
    assert (tmp_path / "clients" / "ACME" / "serials.sqlite").is_file()
    assert not (tmp_path / "serials.sqlite").exists()
