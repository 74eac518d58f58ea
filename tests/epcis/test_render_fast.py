"""The writers' fast paths give exactly what the general paths give.

XML events are written as text (:func:`epcis.formats.to_xml_text`) instead of through lxml
elements; the canonical forms of the event hash take short cuts for SGTINs and canonical
timestamps. Each is compared here with the general path it replaces, over every event of
the conformance kit and over inputs chosen to hit the escapes and the fallbacks.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from epcis import event_hash as event_hash_module
from epcis import jsonschema_check, parallel_xsd
from epcis.canonical import canonical_time, canonical_value, epc_to_digital_link
from epcis.documents import read_events
from epcis.event_hash import Node
from epcis.formats import (
    UnrepresentableError,
    _NotPlainError,
    _to_xml_20_text,
    to_xml_12,
    to_xml_20,
    to_xml_text,
)
from epcis.jsonschema_check import check_event
from epcis.model import ObjectEvent
from epcis.neutral import event_node, header_of
from epcis.validate import EpcisValidationError, validate_epcis_file
from epcis.writers import OutboundInvalidError, write_document
from serialtrace.errors import SerialtraceError
from serialtrace.settings import conformance_dir

EXAMPLES = conformance_dir() / "examples"


def _lxml_text(node: Node, event_id: str | None, version: str) -> str:
    element = to_xml_12(node, event_id) if version == "1.2" else to_xml_20(node, event_id)
    text = etree.tostring(element, encoding="unicode")
    if version == "1.2" and node.name == "TransformationEvent":
        text = f"<extension>{text}</extension>"
    return text


def _outcome(render: Any, node: Node, event_id: str | None, version: str) -> str:
    try:
        return str(render(node, event_id, version))
    except (UnrepresentableError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def _kit_events() -> list[Node]:
    nodes: list[Node] = []
    for path in sorted(EXAMPLES.rglob("*")):
        if path.suffix in (".xml", ".jsonld", ".json"):
            try:
                nodes.extend(source.node for source in read_events(path))
            except Exception:
                continue
    return nodes


def test_xml_text_equals_lxml_for_every_event_of_the_kit() -> None:
    nodes = _kit_events()
    assert len(nodes) > 200
    for node in nodes:
        for version in ("1.2", "2.0"):
            for event_id in (None, "urn:uuid:1"):
                assert _outcome(to_xml_text, node, event_id, version) == _outcome(
                    _lxml_text, node, event_id, version
                ), (node.name, version)


def test_xml_text_escapes_like_lxml(events: list[Any]) -> None:
    tricky = "A&B <C> \"q\" 's' \r\n\t é 💊 ]]>"
    commissioning = replace(events[0], lot=tricky)
    decommissioning = replace(events[-1], reason=tricky)
    for event in (commissioning, decommissioning, *events):
        node = event_node(event)
        node.children.append(Node("{urn:serialtrace:epcis:1}note", tricky))
        for version in ("1.2", "2.0"):
            fast = to_xml_text(node, "ni:///sha-256;ab?ver=CBV2.0", version)
            assert fast == _lxml_text(node, "ni:///sha-256;ab?ver=CBV2.0", version)
    # the sample takes the text path (no fallback to lxml)
    assert "&amp;B &lt;C&gt;" in _to_xml_20_text(event_node(commissioning), None)


def test_xml_text_falls_back_to_lxml_and_keeps_its_errors(events: list[Any]) -> None:
    node = event_node(events[0])
    odd = Node(node.name, "", [*node.children, Node("{urn:example:x}extra", "1")])
    with pytest.raises(_NotPlainError):
        _to_xml_20_text(odd, None)  # a namespace without a fixed prefix: lxml names it
    assert to_xml_text(odd, None, "2.0") == _lxml_text(odd, None, "2.0")
    bad = Node(node.name, "", [*node.children, Node("{urn:serialtrace:epcis:1}x", "a\x01b")])
    with pytest.raises(ValueError, match="XML compatible"):
        to_xml_text(bad, None, "2.0")


def test_sgtin_short_cut_equals_the_general_conversion() -> None:
    values = [
        "urn:epc:id:sgtin:0312345.067890.000000000042",
        "urn:epc:id:sgtin:030001.0012345.A%2FB",
        "urn:epc:id:sgtin:030001.0012345.a'b",
        "urn:epc:id:sgtin:030001.0012345.",
        "urn:epc:id:sgtin:030001.0012345.ÄB",
        "urn:epc:id:sgtin:030001.0012345.A\nB",
        "urn:epc:id:sgtin:030001.A12345.7",
        "urn:epc:id:sgtin:030001.7",
        "urn:epc:id:sgtin:.7",
        "urn:epc:id:sgtin:0300.01.0012345.7",
        "urn:epc:id:sscc:0312345.1000000042",
        "urn:epc:id:sgln:0312345.00000.0",
    ]
    for value in values:
        assert _canonical(lambda v: canonical_value(v), value) == _canonical(
            lambda v: epc_to_digital_link(v) or v, value
        ), value


def _canonical(convert: Any, value: str) -> str:
    try:
        return str(convert(value))
    except SerialtraceError as exc:  # e.g. a non-digit item reference: same error both ways
        return f"{type(exc).__name__}: {exc}"


def test_canonical_time_short_cut_equals_the_general_path() -> None:
    for value in ("2026-01-01T08:00:00.000", "2024-02-29T23:59:59.999", "1999-12-31T00:00:00.5"):
        with_offset = canonical_time(value + "+00:00")
        assert canonical_time(with_offset) == with_offset
    assert canonical_time("0999-01-01T00:00:00.000Z") == canonical_time(
        "0999-01-01T00:00:00.000+00:00"
    )
    for broken in ("2026-13-01T00:00:00.000Z", "2026-13-01T00:00:00.000+00:00"):
        with pytest.raises(ValueError):
            canonical_time(broken)


def test_a_case_commissioning_takes_the_text_path() -> None:
    event = ObjectEvent(
        datetime(2026, 1, 1, 8, tzinfo=UTC),
        "ADD",
        "commissioning",
        "active",
        tuple(f"urn:epc:id:sgtin:0312345.067890.{n:012d}" for n in range(20)),
        "urn:epc:id:sgln:0312345.00001.0",
        "urn:epc:id:sgln:0312345.00001.0",
        lot="LOT1",
        expiry=date(2028, 1, 31),
    )
    node = event_node(event)
    assert _to_xml_20_text(node, None) == _lxml_text(node, None, "2.0")
    assert to_xml_text(node, None, "1.2") == _lxml_text(node, None, "1.2")


# --- JSON-LD events checked once per shape ---------------------------------------------


def _json_event(epcs: list[Any], **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": "ni:///sha-256;00?ver=CBV2.0",
        "eventTime": "2026-01-01T08:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": epcs,
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "readPoint": {"id": "urn:epc:id:sgln:0312345.00001.0"},
    }
    event.update(fields)
    return event


def test_shape_check_is_on_for_the_kit_schema_and_off_when_its_premise_breaks() -> None:
    assert jsonschema_check.shape_check_enabled()
    schema = copy.deepcopy(jsonschema_check._validator("event").schema)
    assert jsonschema_check._shape_premise_holds(schema)
    schema["definitions"]["eventID"] = {"type": "string", "pattern": "^ni:"}
    assert not jsonschema_check._shape_premise_holds(schema)
    schema = copy.deepcopy(jsonschema_check._validator("event").schema)
    schema["definitions"]["ObjectEvent"]["allOf"].append(
        {"properties": {"epcList": {"type": "array", "maxItems": 3}}}
    )
    assert not jsonschema_check._shape_premise_holds(schema)


def test_shape_check_still_finds_every_kind_of_error() -> None:
    epcs = [f"urn:epc:id:sgtin:0312345.067890.{n}" for n in range(5)]
    assert check_event(_json_event(epcs)) is None
    assert check_event(_json_event(epcs[::-1], eventTime="2026-02-01T08:00:00Z")) is None
    bad = {
        "an EPC that is not a URI": _json_event([*epcs, "not a uri"]),
        "an EPC twice": _json_event([*epcs, epcs[0]]),
        "an EPC that is a number": _json_event([*epcs, 7]),
        "a time without an offset": _json_event(epcs, eventTime="2026-01-01T08:00:00"),
        "an action of the known shape gone wrong": _json_event(epcs, action="ADDED"),
        "a field the event type does not have": _json_event(epcs, childEPCs=epcs),
        "a parentID on an ObjectEvent": _json_event(epcs, parentID=epcs[0]),
    }
    for why, event in bad.items():
        problem = check_event(event)
        assert problem is not None, why
        assert "rule:" in problem, why
    # a repeated child EPC is allowed by the schema in an AggregationEvent (no uniqueItems)
    aggregation = _json_event([], type="AggregationEvent", parentID="urn:epc:id:sscc:0312345.1")
    del aggregation["epcList"]
    aggregation["childEPCs"] = [epcs[0], epcs[0]]
    assert check_event(aggregation) is None


def test_shape_check_agrees_with_the_full_schema_on_the_kit() -> None:
    checked = 0
    for path in sorted(EXAMPLES.rglob("*.jsonld")):
        document = json.loads(path.read_text(encoding="utf-8"))
        body = document.get("epcisBody", {})
        for event in body.get("eventList", []) if isinstance(body, dict) else []:
            if isinstance(event, dict):
                verdict = check_event(event) is None
                assert verdict == (jsonschema_check._full_check(event) is None), path.name
                checked += 1
    assert checked > 50


def test_one_product_epc_list_short_cut_equals_the_member_loop() -> None:
    head = "urn:epc:id:sgtin:0312345.067890."
    lists = [
        [f"{head}{n}" for n in (5, 40, 3, 100, 7)],
        [f"{head}{n}" for n in (5, 40)] + ["urn:epc:id:sgtin:0312345.067891.1"],
        [f"{head}A1", f"{head}a%2F", f"{head}b"],
        [f"{head}1", f"{head}"],
        [f"{head}1", f" {head}2", f"{head}3 "],
        [f"{head}1", f"{head}2.3"],
        [f"{head}1", f"{head}2\n{head}3"],
        [f"{head}1", "urn:epc:id:sscc:0312345.1000000042"],
        ["urn:epc:id:sgtin:0312345.A67890.1", "urn:epc:id:sgtin:0312345.A67890.2"],
    ]
    for texts in lists:
        children = [Node("epc", text) for text in texts]
        assert _outcome_of(prehash_of_epcs, children) == _outcome_of(_member_loop, texts), texts


def _member_loop(texts: list[str]) -> str:
    return "".join(sorted("epc=" + canonical_value(t.strip()) for t in texts if t.strip()))


def _outcome_of(compute: Any, argument: Any) -> str:
    try:
        return str(compute(argument))
    except SerialtraceError as exc:  # the same error both ways
        return f"{type(exc).__name__}: {exc}"


def prehash_of_epcs(children: list[Node]) -> str:
    return event_hash_module._epc_values(children)[0]


def test_own_document_validation_gives_the_same_verdict(tmp_path: Path) -> None:
    examples = sorted(EXAMPLES.rglob("*.xml"))
    assert len(examples) > 40
    for path in examples:
        try:
            general = validate_epcis_file(path)
        except EpcisValidationError:
            continue
        own = validate_epcis_file(path, own_document=True)
        assert (own.valid, own.errors) == (general.valid, general.errors), path.name
    sample = tmp_path / "sample.xml"
    text = next(p for p in examples if validate_epcis_file(p).valid).read_text(encoding="utf-8")
    for broken in ("</eventTime>", "</action>"):
        if broken in text:
            sample.write_text(text.replace(broken, broken + "<stray/>", 1), encoding="utf-8")
            report = validate_epcis_file(sample, own_document=True)
            assert not report.valid and "stray" in report.errors[0]


def _event(index: int, action: str) -> Node:
    return Node(
        "ObjectEvent",
        children=[
            Node("eventTime", "2024-01-01T00:00:00.000Z"),
            Node("eventTimeZoneOffset", "+00:00"),
            Node(
                "epcList",
                children=[
                    Node("epc", f"urn:epc:id:sgtin:0312345.067890.{index}{n}") for n in range(9)
                ],
            ),
            Node("action", action),
        ],
    )


@pytest.mark.parametrize("fmt", ["1.2-xml", "2.0-xml"])
def test_concurrent_xsd_validation_in_a_second_process(
    tmp_path: Path, header: Any, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel_xsd, "START_AFTER_BYTES", 4096)  # a child for a small file
    started: list[str] = []
    real_start = parallel_xsd.ConcurrentValidator._start

    def spy(self: Any, raw: Any) -> None:
        real_start(self, raw)
        started.append("started" if self.process is not None else "failed")

    monkeypatch.setattr(parallel_xsd.ConcurrentValidator, "_start", spy)
    verdicts: list[str | None] = []
    real_verdict = parallel_xsd.ConcurrentValidator.verdict

    def record(self: Any) -> str | None:
        verdicts.append(real_verdict(self))
        return verdicts[-1]

    monkeypatch.setattr(parallel_xsd.ConcurrentValidator, "verdict", record)
    good = [_event(i, "OBSERVE") for i in range(300)]
    stats = write_document(tmp_path / "good.xml", header_of(header), good, fmt)
    assert started == ["started"] and stats.events == 300
    assert validate_epcis_file(stats.path).valid
    bad = [*good[:250], _event(999, "OBSERVED"), *good[250:]]
    with pytest.raises(OutboundInvalidError) as caught:
        write_document(tmp_path / "bad.xml", header_of(header), bad, fmt)
    assert "event #251" in str(caught.value) and "OBSERVED" in str(caught.value)
    assert started == ["started", "started"]
    assert verdicts[0] == parallel_xsd.VALID  # the child's verdict on each document
    assert verdicts[1] is not None and "OBSERVED" in verdicts[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.xml"]  # nothing half-written


def test_the_validator_child_never_runs_the_parents_main_script(
    tmp_path: Path, header: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside Streamlit (or any host whose ``__main__`` is a script) the child must not
    re-run that script, as multiprocessing's spawn does: it would execute the host's code."""
    import sys
    import types

    marker = tmp_path / "main-ran"
    script = tmp_path / "host.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    host = types.ModuleType("__main__")
    host.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", host)
    monkeypatch.setattr(parallel_xsd, "START_AFTER_BYTES", 4096)
    verdicts: list[str | None] = []
    real_verdict = parallel_xsd.ConcurrentValidator.verdict

    def record(self: Any) -> str | None:
        verdicts.append(real_verdict(self))
        return verdicts[-1]

    monkeypatch.setattr(parallel_xsd.ConcurrentValidator, "verdict", record)
    out = tmp_path / "out"
    out.mkdir()
    events = [_event(i, "OBSERVE") for i in range(300)]
    write_document(out / "doc.xml", header_of(header), events, "2.0-xml")
    assert verdicts == [parallel_xsd.VALID]
    assert not marker.exists()
