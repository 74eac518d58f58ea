from __future__ import annotations

import json
from pathlib import Path

import pytest

from serialtrace.cli import main
from serialtrace.errors import ConfigurationError, ValidationError
from serialtrace.markets import get_market, load_markets
from serialtrace.markets.loader import parse_profile_text
from serialtrace.serials.ledger import SerialLedger
from serialtrace.serials.pools import pool_from_market

VALUES = {"gtin": "09506000134352", "serial": "ABC123", "lot": "L1", "expiry": "2027-12"}

TURKEY = """
unverified = ["written for a test"]

[market]
id = "TR-ITS"
name = "Turkey - Pharmaceutical Track and Trace System"
countries = ["TR"]

[serials]
alphabets = ["numeric"]
modes = ["randomized"]
default_alphabet = "numeric"
default_length = 14
min_length = 10
max_length = 20

[carrier]
symbology = "GS1 DataMatrix"
ais = ["01", "21", "17", "10"]

[hri]
lines = ["GTIN {gtin}", "SN {serial}"]

[[reports]]
name = "production and sale notifications"
to = "ITS"
format = "ITS XML"
"""


def test_the_shipped_markets_load_with_their_rules() -> None:
    markets = load_markets()
    assert {"US-DSCSA", "EU-FMD", "SA-SFDA"} <= set(markets)
    us, eu = markets["US-DSCSA"], markets["EU-FMD"]
    assert us.ais == ("01", "21", "10", "17") and us.serials.default_length == 12
    assert "sequential" not in eu.serials.modes  # FMD: randomised serials only
    assert all(m.serials.max_guess_probability <= 1e-4 for m in markets.values())
    assert all(m.unverified for m in markets.values())  # each states what it could not check


def test_fmd_member_states_carry_their_national_number() -> None:
    eu = get_market(load_markets(), "EU-FMD")
    assert eu.required_ais("ES") == ("01", "21", "10", "17", "712")
    assert eu.required_ais("DE")[-1] == "710"
    assert eu.required_ais("FR") == eu.ais  # CIP13 already inside the product code
    assert eu.render_hri({**VALUES, "nhrn": "1234567"}, "ES") == [
        "PC 09506000134352",
        "SN ABC123",
        "NN 1234567",
        "Lot L1",
        "EXP 2027-12",
    ]
    assert "NN" not in " ".join(eu.render_hri(VALUES, "FR"))
    assert eu.validate_nhrn("PT", "1234567") == "1234567"
    with pytest.raises(ValidationError, match="714 AIM"):
        eu.validate_nhrn("PT", "12AB")
    with pytest.raises(ValidationError, match="needs nhrn"):
        eu.render_hri(VALUES, "ES")


def test_adding_a_market_is_adding_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "markets").mkdir()
    (tmp_path / "markets" / "tr-its.toml").write_text(TURKEY)
    market = get_market(load_markets(tmp_path), "TR-ITS")
    assert market.serials.default_length == 14 and market.source.endswith("tr-its.toml")

    home = str(tmp_path)
    assert main(["serials", "pool", "create", "--home", home, "--market", "TR-ITS",
                 "--client", "ACME", "--gtin", "9506000134352", "--json"]) == 0  # fmt: skip
    created = json.loads(capsys.readouterr().out)
    assert created["length"] == 14 and created["alphabet"] == "numeric"
    assert created["max_guess_probability"] == 1e-4
    with SerialLedger(tmp_path / "serials.sqlite") as ledger:
        serials = ledger.allocate(created["pool_id"], 5, "WO-TR")
    assert all(len(s) == 14 and s.isdigit() for s in serials)
    # the market's rules are enforced: too short for TR-ITS
    assert main(["serials", "pool", "create", "--home", home, "--market", "TR-ITS",
                 "--client", "B", "--gtin", "9506000134352", "--length", "8"]) == 2  # fmt: skip
    assert "TR-ITS serials are 10..20" in capsys.readouterr().err


def test_a_market_file_given_on_the_command_line(tmp_path: Path) -> None:
    extra = tmp_path / "elsewhere.toml"
    extra.write_text(TURKEY)
    assert "TR-ITS" in load_markets(tmp_path / "home", [extra])
    with pytest.raises(ConfigurationError, match="defined twice"):
        load_markets(None, [extra, extra])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('id = "TR-ITS"', 'id = "tr its"'), "market.id"),
        (('ais = ["01", "21", "17", "10"]', 'ais = ["01", "17"]'), "AI \\(21\\)"),
        (('"SN {serial}"', '"SN {serial} {colour}"'), "colour"),
        (("max_length = 20", "max_length = 25"), "serials.max_length"),
        (('alphabets = ["numeric"]', 'alphabets = ["abc def"]'), "encodable"),
        (("[[reports]]", "[[report]]"), "report"),
        (("default_length = 14", "default_length = 14\nmax_guess_probability = 0.01"), "1e-4"),
    ],
)
def test_a_broken_profile_names_the_setting(change: tuple[str, str], message: str) -> None:
    text = TURKEY.replace(*change)
    with pytest.raises(ValidationError, match=message):
        parse_profile_text(text, "tr.toml")


def test_pool_from_market_fills_defaults_and_checks_rules() -> None:
    eu = get_market(load_markets(), "EU-FMD")
    pool = pool_from_market(eu, client="ACME", gtin="9506000134352")
    assert (pool.pool_id, pool.mode, pool.length) == (
        "ACME-EU-FMD-09506000134352",
        "randomized",
        12,
    )
    with pytest.raises(ValidationError, match="EU-FMD allows randomized, imported"):
        pool_from_market(eu, client="ACME", gtin="9506000134352", mode="sequential")
    with pytest.raises(ValidationError, match="alphabet"):
        pool_from_market(eu, client="ACME", gtin="9506000134352", alphabet="ABC")
