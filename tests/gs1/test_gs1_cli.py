from __future__ import annotations

import argparse
import json

import pytest

from serialtrace.errors import ValidationError
from serialtrace.gs1.cli import add_gs1_commands
from serialtrace.gs1.element_string import GS

UNIT = ["--gtin", "09506000134352", "--serial", "ABC123", "--lot", "LOT42", "--expiry", "271231"]


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="serialtrace")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_gs1_commands(subparsers)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert run([*argv, "--json"]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_encode_json_vector_1(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(["gs1", "encode", *UNIT, "--company-prefix-length", "7"], capsys)
    assert data["gtin"] == "09506000134352"
    assert data["serial"] == "ABC123"
    assert data["lot"] == "LOT42"
    assert data["expiry"] == "271231"
    assert data["expiry_date"] == "2027-12-31"
    assert data["element_string"] == f"01095060001343521727123110LOT42{GS}21ABC123"
    assert data["hri"] == "(01)09506000134352(17)271231(10)LOT42(21)ABC123"
    assert data["epc_uri"] == "urn:epc:id:sgtin:9506000.013435.ABC123"
    assert data["digital_link"] == (
        "https://id.gs1.org/01/09506000134352/10/LOT42/21/ABC123?17=271231"
    )


def test_encode_json_raw_output_carries_ascii_29(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["gs1", "encode", *UNIT, "--json"]) == 0
    out = capsys.readouterr().out
    assert "\\u001d" in out  # JSON escape of ASCII 29
    assert json.loads(out)["epc_uri"] is None  # never guessed without a prefix length


def test_encode_with_national_ai_vector_9(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(["gs1", "encode", *UNIT, "--ai", "712=1234567"], capsys)
    assert data["element_string"] == f"01095060001343521727123110LOT42{GS}21ABC123{GS}7121234567"
    assert str(data["digital_link"]).endswith("?17=271231&712=1234567")
    data = run_json(["gs1", "encode", *UNIT, "--ai", "(712)=1234567"], capsys)
    assert data["hri"] == "(01)09506000134352(17)271231(10)LOT42(21)ABC123(712)1234567"


def test_encode_ndc_gtin_needs_explicit_prefix_length(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["gs1", "encode", "--gtin", "00312345678906", "--serial", "100000000001"]
    argv += ["--lot", "A1B2", "--expiry", "280229"]
    assert run_json(argv, capsys)["epc_uri"] is None
    data = run_json([*argv, "--company-prefix-length", "7"], capsys)
    assert data["epc_uri"] == "urn:epc:id:sgtin:0312345.067890.100000000001"
    data = run_json([*argv, "--company-prefix-length", "6"], capsys)
    assert data["epc_uri"] == "urn:epc:id:sgtin:031234.0567890.100000000001"


def test_encode_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["gs1", "encode", *UNIT]) == 0
    out = capsys.readouterr().out
    assert "GTIN:" in out and "09506000134352" in out
    assert "Expiry:         271231 (2027-12-31)" in out
    assert "01095060001343521727123110LOT42<GS>21ABC123" in out
    assert "EPC URI:        (none: pass --company-prefix-length)" in out
    assert "https://id.gs1.org/01/09506000134352/10/LOT42/21/ABC123?17=271231" in out
    assert GS not in out


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--gtin", "09506000134353"], "gtin"),
        (["--serial", "A B"], "serial"),
        (["--serial", "x" * 21], "serial"),
        (["--lot", "L#1"], "lot"),
        (["--expiry", "271301"], "expiry"),
        (["--ai", "712"], "ai"),
        (["--ai", "999=1"], "ai"),
        (["--ai", "712=a b"], "nhrn_712"),
        (["--company-prefix-length", "5"], "company_prefix_length"),
    ],
)
def test_encode_bad_input_raises_validation_error(argv: list[str], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        run(["gs1", "encode", *UNIT, *argv])
    assert err.value.field == field


@pytest.mark.parametrize(
    "text",
    [
        f"]d201095060001343521727123110LOT42{GS}21ABC123",
        "01095060001343521727123110LOT42<GS>21ABC123",
        "(01)09506000134352(17)271231(10)LOT42(21)ABC123",
        "https://id.gs1.org/01/09506000134352/10/LOT42/21/ABC123?17=271231",
    ],
)
def test_parse_json(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(["gs1", "parse", text, "--company-prefix-length", "7"], capsys)
    assert data["gtin"] == "09506000134352"
    assert data["serial"] == "ABC123"
    assert data["lot"] == "LOT42"
    assert data["expiry"] == "271231"
    assert data["element_string"] == f"01095060001343521727123110LOT42{GS}21ABC123"
    assert data["epc_uri"] == "urn:epc:id:sgtin:9506000.013435.ABC123"
    assert data["digital_link"] == (
        "https://id.gs1.org/01/09506000134352/10/LOT42/21/ABC123?17=271231"
    )


def test_parse_sscc_and_gln(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        ["gs1", "parse", "00106141412345678908", "--company-prefix-length", "7"], capsys
    )
    assert data["gtin"] is None
    assert data["sscc"] == "106141412345678908"
    assert data["epc_uri"] == "urn:epc:id:sscc:0614141.1234567890"
    assert data["digital_link"] == "https://id.gs1.org/00/106141412345678908"
    hri = "(414)0614141000012(254)DOCK3"
    data = run_json(["gs1", "parse", hri, "--company-prefix-length", "7"], capsys)
    assert data["epc_uri"] == "urn:epc:id:sgln:0614141.00001.DOCK3"
    assert data["digital_link"] == "https://id.gs1.org/414/0614141000012/254/DOCK3"


def test_parse_without_primary_key_has_no_digital_link(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(["gs1", "parse", "17271231"], capsys)
    assert data["expiry"] == "271231"
    assert data["digital_link"] is None
    assert data["epc_uri"] is None


def test_parse_separator_option(capsys: pytest.CaptureFixture[str]) -> None:
    text = "01095060001343521727123110LOT42~21ABC123"
    assert run_json(["gs1", "parse", text, "--separator", "~"], capsys)["serial"] == "ABC123"


def test_parse_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["gs1", "parse", "00106141412345678908"]) == 0
    out = capsys.readouterr().out
    assert "SSCC:           106141412345678908" in out
    assert "GTIN:" not in out


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("0109506000134353", "gtin"),
        ("01095060001343521727133110L", "expiry"),
        ("10LOT42", "lot"),
        ("]X1abc", "element_string"),
        ("https://x/01/09506000134352?21=1", "digital_link"),
    ],
)
def test_parse_bad_input_raises_validation_error(text: str, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        run(["gs1", "parse", text])
    assert err.value.field == field


def test_subcommand_is_required() -> None:
    with pytest.raises(SystemExit):
        run(["gs1"])
