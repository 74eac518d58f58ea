"""Inbound deviations beyond 'a schema error': one real-looking partner file per kind
(vendor attribute, un-namespaced extension, elements out of order, incomplete header,
EPCIS 1.1, default namespace), each recognised by name: recorded against the loaded file
(tolerant) or listed when the file is refused (strict)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
from lxml import etree

from epcis.deviations import classify_json_error, classify_xml_error
from epcis.inbound import InboundRefusedError, ingest_file
from epcis.writers import write_events
from serialtrace.settings import Home


def _base(tmp_path: Path, dscsa: Any) -> str:
    """A valid DSCSA 1.2 file as a partner's system writes it: one element per line."""
    path = tmp_path / "base.xml"
    write_events(path, dscsa.make_header(), dscsa.make_events(), "1.2-xml")
    tree = etree.parse(str(path), etree.XMLParser(remove_blank_text=True))
    body = etree.tostring(tree, pretty_print=True, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _swap_action_and_bizstep(text: str) -> str:
    return re.sub(
        r"(<action>[A-Z]+</action>)(\s*)(<bizStep>[^<]+</bizStep>)", r"\3\2\1", text, count=1
    )


#: kind -> how a partner's file gets it
MUTATIONS: dict[str, Callable[[str], str]] = {
    "vendor_attribute": lambda t: t.replace("<eventTime>", '<eventTime erpClock="SAP">', 1),
    "unnamespaced_extension": lambda t: t.replace(
        "</disposition>", "</disposition>\n        <erpBatchRef>B-4711</erpBatchRef>", 1
    ),
    "element_order": _swap_action_and_bizstep,
    "incomplete_header": lambda t: re.sub(
        r"\s*<sbdh:Sender>.*?</sbdh:Sender>", "", t, count=1, flags=re.S
    ),
    "old_version": lambda t: t.replace('schemaVersion="1.2"', 'schemaVersion="1.1"', 1),
    "default_namespace": lambda t: t.replace(
        "<epcis:EPCISDocument", '<EPCISDocument xmlns="urn:epcglobal:epcis:xsd:1"', 1
    ).replace("</epcis:EPCISDocument>", "</EPCISDocument>"),
}


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_each_deviation_is_named_recorded_or_listed(kind: str, tmp_path: Path, dscsa: Any) -> None:
    base = _base(tmp_path, dscsa)
    text = MUTATIONS[kind](base)
    assert text != base
    home = Home(tmp_path / "home")
    strict_file = tmp_path / f"{kind}-strict.xml"
    strict_file.write_text(text, encoding="utf-8")
    with pytest.raises(InboundRefusedError) as refused:
        ingest_file(home, strict_file, partner_id="acme", policy="strict")
    reason = refused.value.rejected.with_name(refused.value.rejected.name + ".reason.txt")
    listed = reason.read_text().splitlines()[1:]
    assert listed and all(line.startswith(f"[{kind}] ") for line in listed), listed

    tolerant_file = tmp_path / f"{kind}.xml"
    tolerant_file.write_text(text, encoding="utf-8")
    result = ingest_file(home, tolerant_file, partner_id="acme", policy="tolerant")
    assert result.events == len(dscsa.make_events())
    with duckdb.connect() as con:
        rows = con.execute(
            "select kind, line, message from read_parquet(?)",
            [str(result.folder / "deviations.parquet")],
        ).fetchall()
    assert rows and {row[0] for row in rows} == {kind}
    assert all(row[1] is not None and row[1] > 0 for row in rows)


def test_a_clean_file_has_no_deviation(tmp_path: Path, dscsa: Any) -> None:
    path = tmp_path / "clean.xml"
    path.write_text(_base(tmp_path, dscsa), encoding="utf-8")
    result = ingest_file(Home(tmp_path / "home"), path, policy="strict")
    assert result.deviations == []


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("line 3: Element 'epcisBody': bad", "schema"),
        ("line 9: Element '{urn:x}foo': This element is not expected.", "schema"),
        ("Additional properties are not allowed ('erpRef' was unexpected)", None),
    ],
)
def test_other_errors_stay_schema_errors(message: str, kind: str | None) -> None:
    if kind is None:
        assert classify_json_error(message) == "unnamespaced_extension"
    else:
        assert classify_xml_error(message) == kind
