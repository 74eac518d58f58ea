"""Schema validation: right XSD per namespace, errors with lines, invalid means error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from epcis.model import DocumentHeader, Event
from epcis.validate import (
    EpcisValidationError,
    load_schema,
    require_valid,
    root_namespace,
    schema_for,
    validate_epcis_file,
)
from epcis.writers import write_events
from serialtrace.errors import ConfigurationError
from serialtrace.settings import CONFORMANCE_ENV, conformance_dir

EXAMPLES_12 = sorted((conformance_dir() / "examples" / "gs1-epcis-1.2" / "xml").glob("*.xml"))
EXAMPLES_20 = sorted((conformance_dir() / "examples" / "gs1-epcis-2.0" / "xml").rglob("*.xml"))


@pytest.fixture
def document(tmp_path: Path, header: DocumentHeader, events: list[Event]) -> Path:
    path = tmp_path / "dscsa.xml"
    write_events(path, header, events, "1.2-xml")
    # one element per line (the writer puts an event on one line): the tests below edit
    # the text and locate errors by line
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    tree = etree.parse(str(path), parser)
    body = etree.tostring(tree, pretty_print=True, encoding="UTF-8", xml_declaration=False)
    path.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n' + body)
    return path


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th occurrence of ``needle``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    return text.count("\n", 0, index) + 1


def _error_line(error: str) -> int:
    match = re.match(r"line (\d+): ", error)
    assert match, error
    return int(match.group(1))


def test_the_kit_examples_are_present() -> None:
    assert len(EXAMPLES_12) == 5
    assert EXAMPLES_20


@pytest.mark.parametrize("example", EXAMPLES_12, ids=lambda p: p.name)
def test_gs1_12_examples_validate(example: Path) -> None:
    report = validate_epcis_file(example)
    assert report.valid, report.errors
    assert report.errors == []
    assert report.error_count == 0
    assert report.schema == conformance_dir() / "epcis-1.2" / "EPCglobal-epcis-1_2.xsd"
    require_valid(example)


@pytest.mark.parametrize("example", EXAMPLES_20, ids=lambda p: p.name)
def test_gs1_20_examples_validate_against_the_20_schema(example: Path) -> None:
    report = validate_epcis_file(example)
    assert report.valid, report.errors
    assert report.schema.parent.name == "epcis-2.0"


def test_schema_is_picked_by_root_namespace(document: Path, tmp_path: Path) -> None:
    assert root_namespace(document) == "urn:epcglobal:epcis:xsd:1"
    assert schema_for(document).name == "EPCglobal-epcis-1_2.xsd"
    masterdata = tmp_path / "md.xml"
    masterdata.write_text(
        '<epcismd:EPCISMasterDataDocument xmlns:epcismd="urn:epcglobal:epcis-masterdata:xsd:1"'
        ' schemaVersion="1.2" creationDate="2024-01-01T00:00:00Z">'
        "<EPCISBody><VocabularyList/></EPCISBody></epcismd:EPCISMasterDataDocument>"
    )
    report = validate_epcis_file(masterdata)
    assert report.schema.name == "EPCglobal-epcis-masterdata-1_2.xsd"
    assert report.valid, report.errors


def test_compiled_schemas_are_cached(document: Path) -> None:
    schema = schema_for(document)
    assert load_schema(schema) is load_schema(schema)


def test_element_out_of_order_is_reported_with_its_line(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    swapped = text.replace(
        "<action>ADD</action>\n        <bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep>",
        "<bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep>\n        <action>ADD</action>",
        1,
    )
    assert swapped != text
    document.write_text(swapped, encoding="utf-8")
    report = validate_epcis_file(document)
    assert not report.valid
    assert report.error_count == len(report.errors) == 1
    error = report.errors[0]
    assert "bizStep" in error and "Expected is ( action )" in error
    expected_line = _line_of(swapped, "<bizStep>urn:epcglobal:cbv:bizstep:packing")
    assert _error_line(error) == expected_line == report.first_error_line


def test_missing_sbdh_sender_is_invalid(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    tampered = re.sub(r"\s*<sbdh:Sender>.*?</sbdh:Sender>", "", text, count=1, flags=re.S)
    document.write_text(tampered, encoding="utf-8")
    report = validate_epcis_file(document)
    assert not report.valid
    assert "Receiver" in report.errors[0] and "Sender" in report.errors[0]
    assert _error_line(report.errors[0]) == _line_of(tampered, "<sbdh:Receiver>")
    with pytest.raises(EpcisValidationError) as caught:
        require_valid(document)
    message = str(caught.value)
    assert str(document) in message
    assert f"line {_line_of(tampered, '<sbdh:Receiver>')}:" in message
    assert "Expected is ( {http://www.unece.org" in message
    assert "1 error," in message
    assert caught.value.report is not None and not caught.value.report.valid


def test_every_error_is_reported_and_counted(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    # Un-namespaced vendor elements and a 2.0-style direct eventID fail 1.2 validation.
    tampered = text.replace(
        "</ObjectEvent>", "  <vendorField>x</vendorField>\n      </ObjectEvent>"
    ).replace(
        "<baseExtension>\n          <eventID>",
        "<eventID>urn:x:1</eventID>\n<baseExtension><eventID>",
    )
    document.write_text(tampered, encoding="utf-8")
    report = validate_epcis_file(document)
    # libxml2 reports the first error per element: the first ObjectEvent's vendorField is
    # hidden behind its eventID error, the three other ObjectEvents each report theirs.
    assert report.error_count == 4
    lines = [_error_line(error) for error in report.errors]
    assert lines[0] == _line_of(tampered, "<eventID>urn:x:1")
    assert lines[1:] == [_line_of(tampered, "<vendorField>", n) for n in range(2, 5)]
    assert all("vendorField" in error for error in report.errors[1:])
    with pytest.raises(EpcisValidationError, match=r"4 errors, first at line \d+: "):
        require_valid(document)


def test_not_well_formed_is_invalid_with_line(document: Path) -> None:
    text = document.read_text(encoding="utf-8").replace("</EventList>", "</EventLis>")
    document.write_text(text, encoding="utf-8")
    report = validate_epcis_file(document)
    assert not report.valid
    assert _error_line(report.errors[0]) == _line_of(text, "</EventLis>")
    with pytest.raises(EpcisValidationError):
        require_valid(document)


def test_doctype_and_entities_are_refused(tmp_path: Path, document: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    text = document.read_text(encoding="utf-8")
    evil = text.replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "{secret}">]>\n',
    ).replace("ST-2024-000123", "&x;")
    document.write_text(evil, encoding="utf-8")
    report = validate_epcis_file(document)
    assert not report.valid
    assert "DOCTYPE" in report.errors[0]
    assert "TOP-SECRET" not in " ".join(report.errors)
    external = text.replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE d SYSTEM "http://example.com/x.dtd">\n',
    )
    document.write_text(external, encoding="utf-8")
    assert "DOCTYPE" in validate_epcis_file(document).errors[0]
    # A bare DOCTYPE (as in GS1's own 2.0 examples) is harmless and accepted.
    bare = text.replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE project>\n',
    )
    document.write_text(bare, encoding="utf-8")
    assert validate_epcis_file(document).valid


def test_non_epcis_documents_are_errors(tmp_path: Path) -> None:
    other = tmp_path / "other.xml"
    other.write_text('<invoice xmlns="urn:example:invoice"/>')
    with pytest.raises(EpcisValidationError, match="not an EPCIS namespace"):
        validate_epcis_file(other)
    garbage = tmp_path / "garbage.xml"
    garbage.write_text("this is not xml")
    with pytest.raises(EpcisValidationError, match="not well-formed XML at line 1"):
        validate_epcis_file(garbage)
    with pytest.raises(EpcisValidationError, match="cannot be read"):
        validate_epcis_file(tmp_path / "missing.xml")


def test_missing_conformance_kit_is_a_configuration_error(
    document: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-kit"
    empty.mkdir()
    monkeypatch.setenv(CONFORMANCE_ENV, str(empty))
    with pytest.raises(ConfigurationError) as caught:
        validate_epcis_file(document)
    message = str(caught.value)
    assert "epcis-1.2/EPCglobal-epcis-1_2.xsd" in message
    assert str(empty) in message
    assert CONFORMANCE_ENV in message
    with pytest.raises(ConfigurationError):
        require_valid(document)
