"""EPCIS event and header model (GS1 US DSCSA profile), pure and I/O free.

Every class is a frozen, slotted dataclass that checks in ``__post_init__`` what is cheap
to check: allowed ``action`` values, CBV 1.2 business steps and dispositions (bare words;
a CBV 2.0-only word is refused because these objects are written as EPCIS 1.2), URN
prefixes, timezone-aware datetimes. A broken rule raises
:class:`serialtrace.errors.ValidationError` naming the field.

Heavier, cross-object checks (is every SGTIN's class in the EPCClass master data, is every
SGLN in the Location master data) are done while writing, see :func:`epcis.neutral.self_contained`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from serialtrace.errors import ValidationError

ACTIONS: Final[frozenset[str]] = frozenset({"ADD", "OBSERVE", "DELETE"})

#: CBV 1.2 business steps (bare words; written as ``urn:epcglobal:cbv:bizstep:<word>``).
CBV12_BIZSTEPS: Final[frozenset[str]] = frozenset(
    {
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
    }
)

#: CBV 1.2 dispositions (bare words; written as ``urn:epcglobal:cbv:disp:<word>``).
CBV12_DISPOSITIONS: Final[frozenset[str]] = frozenset(
    {
        "active",
        "container_closed",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "no_pedigree_match",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unknown",
    }
)

#: Words that exist only in CBV 2.0 and must never appear in an EPCIS 1.2 file.
CBV20_ONLY_BIZSTEPS: Final[frozenset[str]] = frozenset({"sensor_reporting", "sampling"})
CBV20_ONLY_DISPOSITIONS: Final[frozenset[str]] = frozenset(
    {
        "available",
        "unavailable",
        "completeness_verified",
        "completeness_inferred",
        "conformant",
        "non_conformant",
        "container_open",
        "mismatch_instance",
        "mismatch_class",
        "mismatch_quantity",
        "needs_replacement",
    }
)

#: CBV business transaction types (bare words, same in CBV 1.2 and 2.0).
BTT_WORDS: Final[frozenset[str]] = frozenset(
    {"bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder", "recadv", "rma",
     "testprd", "upevt"}
)  # fmt: skip
#: CBV source / destination types.
SDT_WORDS: Final[frozenset[str]] = frozenset({"owning_party", "possessing_party", "location"})

EPC_URN_PREFIX: Final = "urn:epc:id:"
SGTIN_URN_PREFIX: Final = "urn:epc:id:sgtin:"
SSCC_URN_PREFIX: Final = "urn:epc:id:sscc:"
SGLN_URN_PREFIX: Final = "urn:epc:id:sgln:"
SGTIN_PATTERN_PREFIX: Final = "urn:epc:idpat:sgtin:"

_SGLN_RE: Final = re.compile(r"urn:epc:id:sgln:(\d{6,12})\.(\d{0,6})\.([!-~]{1,20})")
_SGTIN_PATTERN_RE: Final = re.compile(r"urn:epc:idpat:sgtin:(\d{6,12})\.(\d{1,7})\.\*")
_NDC10_HYPHENATED_RE: Final = re.compile(r"\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d")
_NDC11_RE: Final = re.compile(r"\d{11}")
_TYPE_CODE_RE: Final = re.compile(r"[A-Z][A-Z0-9_]*")
_COUNTRY_RE: Final = re.compile(r"[A-Z]{2}")
_URI_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")


def _require_text(field: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be a non-empty string")


def _require_optional_text(field: str, value: object) -> None:
    if value is not None:
        _require_text(field, value)


def _require_sgln(field: str, value: object) -> None:
    match = _SGLN_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationError(
            field,
            f"must be an SGLN URN like urn:epc:id:sgln:0312345.00000.0, got {value!r}",
        )
    company_prefix, location_ref, _ = match.groups()
    if len(company_prefix) + len(location_ref) != 12:
        raise ValidationError(
            field, f"company prefix + location reference must be 12 digits in {value!r}"
        )


def _require_aware(field: str, value: object) -> None:
    if not isinstance(value, datetime):
        raise ValidationError(field, f"must be a datetime, got {type(value).__name__}")
    offset = value.utcoffset()
    if offset is None:
        raise ValidationError(field, "must be timezone-aware (naive datetimes are ambiguous)")
    if offset % timedelta(minutes=1):
        raise ValidationError(field, "UTC offset must be a whole number of minutes")


def _require_word(field: str, value: object, allowed: frozenset[str], v20: frozenset[str]) -> None:
    if not isinstance(value, str):
        raise ValidationError(field, "must be a bare CBV word such as 'commissioning'")
    if value in allowed:
        return
    if value in v20:
        raise ValidationError(field, f"{value!r} is a CBV 2.0-only word, not allowed in EPCIS 1.2")
    if value.startswith(("urn:", "http:", "https:")):
        raise ValidationError(field, f"give the bare CBV word, not the URI {value!r}")
    raise ValidationError(field, f"{value!r} is not a CBV 1.2 word")


def _as_tuple(obj: object, field: str) -> None:
    """Accept a list where a tuple is declared (frozen: set through object.__setattr__)."""
    value = getattr(obj, field)
    if isinstance(value, list):
        object.__setattr__(obj, field, tuple(value))
    elif not isinstance(value, tuple):
        raise ValidationError(field, f"must be a tuple, got {type(value).__name__}")


def _require_epcs(field: str, epcs: tuple[str, ...]) -> None:
    for epc in epcs:
        if not isinstance(epc, str) or not epc.startswith(EPC_URN_PREFIX):
            raise ValidationError(
                field, f"every EPC must be an EPC URN (urn:epc:id:…), got {epc!r}"
            )


@dataclass(frozen=True, slots=True)
class Location:
    """A party or site, keyed by SGLN; written as Location master data."""

    sgln: str
    name: str
    street: str
    city: str
    state: str | None
    postal_code: str
    country_code: str

    def __post_init__(self) -> None:
        _require_sgln("sgln", self.sgln)
        for field in ("name", "street", "city", "postal_code"):
            _require_text(field, getattr(self, field))
        _require_optional_text("state", self.state)
        if not isinstance(self.country_code, str) or not _COUNTRY_RE.fullmatch(self.country_code):
            raise ValidationError(
                "country_code",
                f"must be an ISO 3166-1 alpha-2 code like 'US', got {self.country_code!r}",
            )


@dataclass(frozen=True, slots=True)
class ProductClass:
    """One GTIN (unit or case), written as EPCClass master data keyed by its SGTIN pattern."""

    pattern_uri: str
    ndc: str | None
    ndc_type_code: str
    name: str
    manufacturer: str
    dosage_form: str
    strength: str
    net_content: str

    def __post_init__(self) -> None:
        match = (
            _SGTIN_PATTERN_RE.fullmatch(self.pattern_uri)
            if isinstance(self.pattern_uri, str)
            else None
        )
        if match is None:
            raise ValidationError(
                "pattern_uri",
                "must be an SGTIN pattern like urn:epc:idpat:sgtin:0312345.067890.*, "
                f"got {self.pattern_uri!r}",
            )
        if len(match.group(1)) + len(match.group(2)) != 13:
            raise ValidationError(
                "pattern_uri",
                "company prefix + indicator/item reference must be 13 digits in "
                f"{self.pattern_uri!r}",
            )
        if not isinstance(self.ndc_type_code, str) or not _TYPE_CODE_RE.fullmatch(
            self.ndc_type_code
        ):
            raise ValidationError(
                "ndc_type_code",
                "must be a type code like 'US_FDA_NDC' or 'FDA_NDC_11', "
                f"got {self.ndc_type_code!r}",
            )
        if self.ndc is not None:
            _require_text("ndc", self.ndc)
            if self.ndc_type_code == "US_FDA_NDC" and not _NDC10_HYPHENATED_RE.fullmatch(self.ndc):
                raise ValidationError(
                    "ndc",
                    "US_FDA_NDC needs a hyphenated 10-digit NDC (4-4-2, 5-3-2 or 5-4-1), "
                    f"got {self.ndc!r}",
                )
            if self.ndc_type_code == "FDA_NDC_11" and not _NDC11_RE.fullmatch(self.ndc):
                raise ValidationError(
                    "ndc", f"FDA_NDC_11 needs 11 digits without hyphens, got {self.ndc!r}"
                )
        for field in ("name", "manufacturer", "dosage_form", "strength", "net_content"):
            _require_text(field, getattr(self, field))

    @property
    def class_key(self) -> str:
        """``CP.IndItemRef`` — the part an SGTIN EPC shares with this pattern."""
        return self.pattern_uri[len(SGTIN_PATTERN_PREFIX) : -2]


@dataclass(frozen=True, slots=True)
class DocumentHeader:
    """SBDH, master data and GS1 US DSCSA header extras of one EPCIS 1.2 document."""

    sender_sgln: str
    receiver_sgln: str
    instance_id: str
    created_at: datetime
    products: tuple[ProductClass, ...]
    locations: tuple[Location, ...]
    guideline_version: str = "GS1 US DSCSA R1.3"
    transaction_statement: bool = False
    legal_notice: str | None = None

    def __post_init__(self) -> None:
        _require_sgln("sender_sgln", self.sender_sgln)
        _require_sgln("receiver_sgln", self.receiver_sgln)
        _require_text("instance_id", self.instance_id)
        _require_aware("created_at", self.created_at)
        _as_tuple(self, "products")
        _as_tuple(self, "locations")
        seen: set[str] = set()
        for product in self.products:
            if not isinstance(product, ProductClass):
                raise ValidationError("products", "every item must be a ProductClass")
            if product.pattern_uri in seen:
                raise ValidationError("products", f"duplicate EPCClass {product.pattern_uri}")
            seen.add(product.pattern_uri)
        seen.clear()
        for location in self.locations:
            if not isinstance(location, Location):
                raise ValidationError("locations", "every item must be a Location")
            if location.sgln in seen:
                raise ValidationError("locations", f"duplicate Location {location.sgln}")
            seen.add(location.sgln)
        _require_text("guideline_version", self.guideline_version)
        if not isinstance(self.transaction_statement, bool):
            raise ValidationError("transaction_statement", "must be a bool")
        _require_optional_text("legal_notice", self.legal_notice)
        if self.legal_notice is not None and not self.transaction_statement:
            raise ValidationError(
                "legal_notice",
                "belongs to the Transaction Statement: set transaction_statement=True",
            )


def _check_event_common(
    event_time: object,
    action: object,
    biz_step: object,
    disposition: object,
    read_point: object,
    biz_location: object,
    event_id: object,
) -> None:
    _require_aware("event_time", event_time)
    if action not in ACTIONS:
        raise ValidationError("action", f"must be one of ADD, OBSERVE, DELETE, got {action!r}")
    _require_word("biz_step", biz_step, CBV12_BIZSTEPS, CBV20_ONLY_BIZSTEPS)
    _require_word("disposition", disposition, CBV12_DISPOSITIONS, CBV20_ONLY_DISPOSITIONS)
    if read_point is not None:
        _require_sgln("read_point", read_point)
    if biz_location is not None:
        _require_sgln("biz_location", biz_location)
    if event_id is not None and (not isinstance(event_id, str) or not _URI_RE.fullmatch(event_id)):
        raise ValidationError("event_id", f"must be a URI (e.g. ni:///sha-256;…), got {event_id!r}")


def _require_typed(
    field: str, value: tuple[tuple[str, str], ...], words: frozenset[str], what: str
) -> None:
    for item in value:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise ValidationError(field, "every item must be a (type, identifier) pair")
        kind, identifier = item
        if kind not in words:
            raise ValidationError(
                field, f"{kind!r} is not a CBV {what} type (one of {', '.join(sorted(words))})"
            )
        if not isinstance(identifier, str) or not _URI_RE.fullmatch(identifier):
            raise ValidationError(field, f"identifier must be a URI, got {identifier!r}")


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    """An EPCIS ObjectEvent (commissioning, shipping, decommissioning, …)."""

    event_time: datetime
    action: str
    biz_step: str
    disposition: str
    epcs: tuple[str, ...]
    read_point: str | None
    biz_location: str | None
    lot: str | None = None
    expiry: date | None = None
    reason: str | None = None
    event_id: str | None = None
    biz_transactions: tuple[tuple[str, str], ...] = ()
    """``(btt word, id)``: e.g. ``("po", "urn:epcglobal:cbv:bt:0312345000004:PO-1")``."""
    sources: tuple[tuple[str, str], ...] = ()
    """``(sdt word, SGLN)``: ``owning_party`` / ``location`` / ``possessing_party``."""
    destinations: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _check_event_common(
            self.event_time,
            self.action,
            self.biz_step,
            self.disposition,
            self.read_point,
            self.biz_location,
            self.event_id,
        )
        _as_tuple(self, "epcs")
        if not self.epcs:
            raise ValidationError("epcs", "an ObjectEvent needs at least one EPC")
        _require_epcs("epcs", self.epcs)
        _require_optional_text("lot", self.lot)
        if self.expiry is not None and (
            isinstance(self.expiry, datetime) or not isinstance(self.expiry, date)
        ):
            raise ValidationError("expiry", "must be a date (not a datetime)")
        if (self.lot is not None or self.expiry is not None) and self.action != "ADD":
            raise ValidationError(
                "lot" if self.lot is not None else "expiry",
                "ILMD (lot, expiry) belongs to an ADD event (commissioning)",
            )
        _require_optional_text("reason", self.reason)
        for name in ("biz_transactions", "sources", "destinations"):
            _as_tuple(self, name)
        _require_typed("biz_transactions", self.biz_transactions, BTT_WORDS, "business transaction")
        _require_typed("sources", self.sources, SDT_WORDS, "source")
        _require_typed("destinations", self.destinations, SDT_WORDS, "destination")


@dataclass(frozen=True, slots=True)
class AggregationEvent:
    """An EPCIS AggregationEvent (packing into a case or pallet, unpacking)."""

    event_time: datetime
    action: str
    biz_step: str
    disposition: str
    parent_id: str
    child_epcs: tuple[str, ...]
    read_point: str | None
    biz_location: str | None
    event_id: str | None = None

    def __post_init__(self) -> None:
        _check_event_common(
            self.event_time,
            self.action,
            self.biz_step,
            self.disposition,
            self.read_point,
            self.biz_location,
            self.event_id,
        )
        if not isinstance(self.parent_id, str) or not self.parent_id.startswith(EPC_URN_PREFIX):
            raise ValidationError(
                "parent_id",
                f"must be an EPC URN (case SGTIN or pallet SSCC), got {self.parent_id!r}",
            )
        _as_tuple(self, "child_epcs")
        if not self.child_epcs and self.action != "DELETE":
            raise ValidationError(
                "child_epcs", f"an {self.action} aggregation needs at least one child EPC"
            )
        _require_epcs("child_epcs", self.child_epcs)
        if self.parent_id in self.child_epcs:
            raise ValidationError("child_epcs", "the parent cannot be its own child")


Event = ObjectEvent | AggregationEvent

__all__ = [
    "ACTIONS",
    "BTT_WORDS",
    "CBV12_BIZSTEPS",
    "CBV12_DISPOSITIONS",
    "CBV20_ONLY_BIZSTEPS",
    "CBV20_ONLY_DISPOSITIONS",
    "SDT_WORDS",
    "AggregationEvent",
    "DocumentHeader",
    "Event",
    "Location",
    "ObjectEvent",
    "ProductClass",
]
