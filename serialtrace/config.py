"""Typed demo / installation configuration, loaded from a TOML file and checked."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from serialtrace.errors import ConfigurationError, ValidationError
from serialtrace.gs1.keys import gtin14_from_ndc, ndc11, validate_gln
from serialtrace.serials.ledger import ALPHANUMERIC, NUMERIC


@dataclass(frozen=True)
class Company:
    company_id: str
    name: str
    company_prefix: str


@dataclass(frozen=True)
class Location:
    gln: str
    company_prefix_length: int
    party_name: str
    name: str
    street: str
    city: str
    state: str | None
    postal_code: str
    country_code: str


@dataclass(frozen=True)
class Product:
    gtin: str
    ndc: str
    ndc11: str
    company_prefix_length: int
    name: str
    dosage_form: str
    strength: str
    pack_size: str
    manufacturer: str
    snomed_ct_code: str | None = None
    proprietary_code: str | None = None


@dataclass(frozen=True)
class Lot:
    lot: str
    expiry: date
    manufactured_on: date
    release_status: str


@dataclass(frozen=True)
class WorkOrderTemplate:
    work_order_prefix: str
    line_id: str
    case_size: int
    pallet_size: int


@dataclass(frozen=True)
class PoolConfig:
    pool_id: str
    market: str
    length: int
    alphabet: str
    randomized: bool


@dataclass(frozen=True)
class LineSettings:
    grade_threshold: float
    decision_budget_ms: int
    fault_rate: float


@dataclass(frozen=True)
class DemoConfig:
    company: Company
    site: Location
    customer: Location
    product: Product
    lot: Lot
    work_order: WorkOrderTemplate
    pool: PoolConfig
    line: LineSettings


def load_demo_config(path: Path | None = None) -> DemoConfig:
    """Load ``path`` (default: the embedded demo.toml) and check every value."""
    try:
        if path is None:
            text = resources.files("serialtrace.defaults").joinpath("demo.toml").read_text()
        else:
            text = path.read_text()
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read configuration {path or 'demo.toml'}: {exc}") from exc
    try:
        return _parse(data)
    except KeyError as exc:
        raise ConfigurationError(f"configuration misses the setting {exc.args[0]}") from exc


def _location(section: dict[str, Any], field: str) -> Location:
    return Location(
        gln=validate_gln(str(section["gln"]), f"{field}.gln"),
        company_prefix_length=_int(section, "company_prefix_length", f"{field}", 6, 12),
        party_name=str(section["party_name"]),
        name=str(section["name"]),
        street=str(section["street"]),
        city=str(section["city"]),
        state=section.get("state"),
        postal_code=str(section["postal_code"]),
        country_code=str(section["country_code"]),
    )


def _int(section: dict[str, Any], key: str, where: str, low: int, high: int) -> int:
    value = section[key]
    if not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{where}.{key}", f"must be a whole number from {low} to {high}")
    return value


def _parse(data: dict[str, Any]) -> DemoConfig:
    c, p, lot, wo, pool, line = (
        data["company"],
        data["product"],
        data["lot"],
        data["work_order"],
        data["serial_pool"],
        data["line"],
    )
    company = Company(str(c["company_id"]), str(c["name"]), str(c["company_prefix"]))
    if not company.company_prefix.isdigit() or not 6 <= len(company.company_prefix) <= 12:
        raise ValidationError("company.company_prefix", "must be 6 to 12 digits")
    ndc = str(p["ndc"])
    product = Product(
        gtin=gtin14_from_ndc(ndc, str(p.get("indicator", "0"))),
        ndc=ndc,
        ndc11=ndc11(ndc),
        company_prefix_length=_int(p, "company_prefix_length", "product", 6, 12),
        name=str(p["name"]),
        dosage_form=str(p["dosage_form"]),
        strength=str(p["strength"]),
        pack_size=str(p["pack_size"]),
        manufacturer=str(p["manufacturer"]),
        snomed_ct_code=str(p["snomed_ct_code"]) if "snomed_ct_code" in p else None,
        proprietary_code=str(p["proprietary_code"]) if "proprietary_code" in p else None,
    )
    if product.gtin[1 : 1 + product.company_prefix_length] != company.company_prefix:
        raise ValidationError("product.ndc", "GTIN does not start with the company prefix")
    alphabets = {"numeric": NUMERIC, "alphanumeric": ALPHANUMERIC}
    if pool["alphabet"] not in alphabets:
        raise ValidationError("serial_pool.alphabet", "must be 'numeric' or 'alphanumeric'")
    fault_rate = float(line["fault_rate"])
    if not 0 <= fault_rate < 1:
        raise ValidationError("line.fault_rate", "must be at least 0 and below 1")
    return DemoConfig(
        company=company,
        site=_location(data["site"], "site"),
        customer=_location(data["customer"], "customer"),
        product=product,
        lot=Lot(
            lot=str(lot["lot"]),
            expiry=date.fromisoformat(str(lot["expiry"])),
            manufactured_on=date.fromisoformat(str(lot["manufactured_on"])),
            release_status=str(lot["release_status"]),
        ),
        work_order=WorkOrderTemplate(
            work_order_prefix=str(wo["work_order_prefix"]),
            line_id=str(wo["line_id"]),
            case_size=_int(wo, "case_size", "work_order", 1, 10_000),
            pallet_size=_int(wo, "pallet_size", "work_order", 1, 10_000),
        ),
        pool=PoolConfig(
            pool_id=str(pool["pool_id"]),
            market=str(pool["market"]),
            length=_int(pool, "length", "serial_pool", 1, 20),
            alphabet=alphabets[pool["alphabet"]],
            randomized=bool(pool["randomized"]),
        ),
        line=LineSettings(
            grade_threshold=float(line["grade_threshold"]),
            decision_budget_ms=_int(line, "decision_budget_ms", "line", 10, 60_000),
            fault_rate=fault_rate,
        ),
    )
