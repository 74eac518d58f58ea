from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from partners.config import (
    As2Settings,
    SftpSettings,
    get_partner,
    load_history_products,
    load_partners,
    parse_history_products,
    parse_partners,
    read_secret_env,
)
from serialtrace.errors import ConfigurationError, ValidationError
from serialtrace.settings import Home


def _demo() -> dict[str, Any]:
    text = resources.files("partners.defaults").joinpath("partners.toml").read_text()
    return tomllib.loads(text)


def test_embedded_demo_partners_load_when_the_home_has_no_file(tmp_path: Path) -> None:
    partners = load_partners(Home(tmp_path))
    assert [p.id for p in partners] == ["acme-sftp", "beta-as2"]
    acme = partners[0]
    assert (acme.gln, acme.location_gln, acme.epcis_format) == (
        "0614141000012",
        "0614141000012",
        "1.2-xml",
    )
    assert acme.transaction_history is True and acme.go_live is False
    assert isinstance(acme.transport, SftpSettings)
    assert isinstance(partners[1].transport, As2Settings)
    assert partners[1].epcis_version == "1.2"


def test_home_file_wins_over_the_defaults(tmp_path: Path) -> None:
    text = resources.files("partners.defaults").joinpath("partners.toml").read_text()
    first_partner_only = "[[partner]]".join(text.split("[[partner]]")[:2])
    (tmp_path / "partners.toml").write_text(first_partner_only)
    assert [p.id for p in load_partners(Home(tmp_path))] == ["acme-sftp"]
    with pytest.raises(ConfigurationError, match=r"unknown partner 'nope'.*acme-sftp"):
        get_partner(Home(tmp_path), "nope")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.update(gln="0614141000013"), "partner acme-sftp.gln"),
        (lambda p: p.update(epcis_format="1.1-xml"), "partner acme-sftp.epcis_format: must be one"),
        (lambda p: p.update(schedule="hourly"), "partner acme-sftp.schedule: must be a 5-field"),
        (lambda p: p.pop("transaction_history"), "partner acme-sftp.transaction_history"),
        (lambda p: p["transport"].update(kind="ftp"), "partner acme-sftp.transport.kind"),
        (lambda p: p["transport"].pop("host_key"), "partner acme-sftp.transport.host_key"),
        (
            lambda p: p["transport"].update(password="hunter2"),
            "partner acme-sftp.transport.password: secrets are never stored",
        ),
        (
            lambda p: p["transport"].update(key_passphrase_env="s3cret value"),
            "must be the NAME of an environment variable",
        ),
    ],
)
def test_validation_errors_name_the_partner_and_the_field(change: Any, message: str) -> None:
    data = _demo()
    change(data["partner"][0])
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        parse_partners(data)


def test_duplicate_ids_are_refused() -> None:
    data = _demo()
    data["partner"][1]["id"] = "acme-sftp"
    with pytest.raises(ValidationError, match="must be unique"):
        parse_partners(data)


def test_http_transport_requires_https() -> None:
    data = _demo()
    data["partner"][1]["transport"] = {"kind": "http", "url": "http://example.invalid/capture"}
    with pytest.raises(
        ValidationError, match=r"partner beta-as2\.transport\.url: must be an https"
    ):
        parse_partners(data)


def test_secrets_are_read_from_the_environment_only_when_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert read_secret_env("", "f") is None
    monkeypatch.delenv("ST_TEST_PASS", raising=False)
    with pytest.raises(ConfigurationError, match="f: environment variable ST_TEST_PASS is not set"):
        read_secret_env("ST_TEST_PASS", "f")
    monkeypatch.setenv("ST_TEST_PASS", "pw")
    assert read_secret_env("ST_TEST_PASS", "f") == "pw"


def test_products_that_require_the_transaction_history() -> None:
    data = _demo()
    assert not parse_history_products(data)  # the demo file names none
    data["products"] = {
        "transaction_history_gtins": ["0312345678906", "00312345678913"],  # GTIN-13 padded
        "transaction_history_ndcs": ["12345-678-92", "12345067893"],
    }
    products = parse_history_products(data)
    assert [g for g, _ in products.gtins] == ["00312345678906", "00312345678913"]
    assert [d for _, d, _ in products.ndcs] == ["12345067892", "12345067893"]
    master = [("00312345678906", "12345067890"), ("00312345678913", "12345067891"),
              ("00312345678920", "12345067892"), ("00312345678937", "12345067893")]  # fmt: skip
    assert products.required_by({"00312345678920"}, master) == (
        "products.transaction_history_ndcs[0] = 12345-678-92 (GTIN 00312345678920)",
    )
    assert products.required_by({"00312345678944"}, master) == ()
    with pytest.raises(ValidationError, match=r"products\.transaction_history_ndcs\[1\]: NDC "
                       r"12345067893 is not in the product master"):  # fmt: skip
        products.required_by({"00312345678906"}, master[:3])


@pytest.mark.parametrize(
    ("products", "message"),
    [
        ({"transaction_history_gtins": ["00312345678907"]},
         r"products\.transaction_history_gtins\[0\]: check digit"),
        ({"transaction_history_gtins": ["00312345678906", 312345678906]},
         r"transaction_history_gtins\[1\]: must be a quoted string of digits"),
        ({"transaction_history_gtins": "00312345678906"},
         r"products\.transaction_history_gtins: must be a list"),
        ({"transaction_history_ndcs": ["123-4567-890"]},
         r"transaction_history_ndcs\[0\]: must be a hyphenated 10-digit NDC"),
        ({"transaction_history_gtin": []}, r"products\.transaction_history_gtin: unknown setting"),
    ],
)  # fmt: skip
def test_bad_product_entries_are_refused_naming_the_entry(
    products: dict[str, Any], message: str, tmp_path: Path
) -> None:
    data = _demo()
    data["products"] = products
    with pytest.raises(ValidationError, match=message):
        parse_partners(data)  # reading the partners checks the whole file
    text = resources.files("partners.defaults").joinpath("partners.toml").read_text()
    bad = text.replace("transaction_history_gtins = []", 'transaction_history_gtins = ["1"]')
    (tmp_path / "partners.toml").write_text(bad)
    with pytest.raises(ValidationError, match=r"gtins\[0\]: must be 8 or 12 or 13 or 14 digits"):
        load_history_products(Home(tmp_path))
