"""Inbound EPCIS: strict / tolerant policies, and every safety property.

Hostile inputs are built here; the network is never reached: an external entity or DTD
pointing at a local HTTP server started by the test would show up as a request on it.
"""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from epcis.inbound import InboundRefusedError, inbound_dir, ingest_file, rejected_dir
from epcis.model import DocumentHeader
from epcis.neutral import event_node, header_of
from epcis.writers import write_document, write_events
from serialtrace.settings import Home, conformance_dir

EXAMPLES = conformance_dir() / "examples"


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home")


@pytest.fixture
def spy_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server recording every request (proves no network access)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY x "pwned">')

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", hits
    finally:
        server.shutdown()
        server.server_close()


def _loaded(home: Home) -> list[Path]:
    base = inbound_dir(home)
    return sorted(base.glob("file=*")) if base.exists() else []


def test_valid_files_of_every_format_load_with_events_epcs_and_master_data(
    home: Home, tmp_path: Path, header: DocumentHeader, dscsa: Any
) -> None:
    events = dscsa.make_events()
    source = tmp_path / "cmo.xml"
    write_events(source, header, events, "1.2-xml")
    json_file = tmp_path / "cmo.jsonld"
    write_document(json_file, header_of(header), [event_node(e) for e in events], "2.0-jsonld")
    hashes = []
    for path in (source, json_file):
        result = ingest_file(home, path, partner_id="cmo-1")
        assert result.events == len(events) and not result.deviations
        with duckdb.connect() as con:
            hashes.append(
                con.execute(
                    "select list(event_hash order by event_index) from read_parquet(?)",
                    [str(result.folder / "events.parquet")],
                ).fetchone()
            )
            lots = con.execute(
                "select distinct lot from read_parquet(?) where lot is not null",
                [str(result.folder / "events.parquet")],
            ).fetchall()
            names = con.execute(
                "select value from read_parquet(?) where attribute_id like '%regulatedProductName'",
                [str(result.folder / "masterdata.parquet")],
            ).fetchall()
        assert lots == [("LOT42",)]
        assert ("Examplomab Tablets",) in names
    assert hashes[0] == hashes[1]  # the same events, whatever the format


def test_schema_deviations_strict_refuses_listing_each_tolerant_records_each(
    home: Home, tmp_path: Path
) -> None:
    original = (EXAMPLES / "gs1-epcis-1.2" / "xml" / "ObjectEvent.xml").read_text()
    deviant = original.replace(  # a vendor attribute and an un-namespaced extension
        "<action>OBSERVE</action>", '<action vendor:x="1" xmlns:vendor="urn:v">OBSERVE</action>', 1
    ).replace("</ObjectEvent>", "<erpField>42</erpField></ObjectEvent>", 1)
    path = tmp_path / "deviant.xml"
    path.write_text(deviant)
    with pytest.raises(InboundRefusedError, match="deviation"):
        ingest_file(home, path, policy="strict")
    (rejected,) = [p for p in rejected_dir(home).iterdir() if p.suffix == ".xml"]
    reason = rejected.with_name(rejected.name + ".reason.txt").read_text()
    assert "erpField" in reason and "line" in reason
    assert not _loaded(home)
    shutil.copyfile(rejected, path)
    result = ingest_file(home, path, policy="tolerant")
    assert result.events == 2 and any("erpField" in d for d in result.deviations)
    with duckdb.connect() as con:
        recorded = con.execute(
            "select count(*) from read_parquet(?)", [str(result.folder / "deviations.parquet")]
        ).fetchone()
    assert recorded == (len(result.deviations),)


def _refused(home: Home, path: Path, match: str) -> str:
    with pytest.raises(InboundRefusedError, match=match):
        ingest_file(home, path, policy="tolerant")
    assert not path.exists() and not _loaded(home)  # moved away, nothing loaded
    reasons = list(rejected_dir(home).glob("*.reason.txt"))
    assert reasons
    return reasons[-1].read_text()


def test_not_well_formed_is_always_refused(home: Home, tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text('<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1"><EPCISBody>')
    _refused(home, path, "not well-formed")


def test_external_entity_is_refused_without_network(
    home: Home, tmp_path: Path, spy_server: tuple[str, list[str]]
) -> None:
    url, hits = spy_server
    path = tmp_path / "xxe.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "{url}/secret">]>\n'
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2" '
        'creationDate="2024-01-01T00:00:00Z"><EPCISBody><EventList/></EPCISBody>&x;'
        "</epcis:EPCISDocument>"
    )
    assert "XXE" in _refused(home, path, "XXE")
    assert hits == []


def test_external_dtd_is_refused_without_network(
    home: Home, tmp_path: Path, spy_server: tuple[str, list[str]]
) -> None:
    url, hits = spy_server
    path = tmp_path / "dtd.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE d SYSTEM "{url}/evil.dtd">\n'
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2" '
        'creationDate="2024-01-01T00:00:00Z"><EPCISBody><EventList/></EPCISBody>'
        "</epcis:EPCISDocument>"
    )
    _refused(home, path, "DTD")
    assert hits == []


def test_entity_expansion_bomb_is_refused(home: Home, tmp_path: Path) -> None:
    lol = "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10 if i else "lol"}">' for i in range(10)
    )
    path = tmp_path / "bomb.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE d [{lol}]>\n'
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1">&l9;</epcis:EPCISDocument>'
    )
    _refused(home, path, "entity")


def test_oversize_file_is_refused_before_parsing(home: Home, tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    shutil.copyfile(EXAMPLES / "gs1-epcis-1.2" / "xml" / "ObjectEvent.xml", path)
    with pytest.raises(InboundRefusedError, match="over the 100-byte limit"):
        ingest_file(home, path, max_bytes=100)
    assert not _loaded(home)


def test_11_documents_and_default_namespaces_are_read(home: Home, tmp_path: Path) -> None:
    original = (EXAMPLES / "gs1-epcis-1.2" / "xml" / "AggregationEvent.xml").read_text()
    old = original.replace('schemaVersion="1.2"', 'schemaVersion="1.1"')
    path = tmp_path / "old.xml"
    path.write_text(old)
    expected = ingest_file(home, path, policy="tolerant")
    assert expected.events >= 1 and expected.format == "1.2-xml"
    # the same document with every element in the EPCIS namespace (a default xmlns)
    body = original.split("<EPCISBody>", 1)[1].split("</EPCISBody>", 1)[0]
    defaulted = tmp_path / "defaulted.xml"
    defaulted.write_text(
        '<EPCISDocument xmlns="urn:epcglobal:epcis:xsd:1" '
        'xmlns:example="http://ns.example.com/epcis" schemaVersion="1.2" '
        f'creationDate="2024-01-01T00:00:00Z"><EPCISBody>{body}</EPCISBody></EPCISDocument>'
    )
    result = ingest_file(home, defaulted, policy="tolerant")
    assert result.events == expected.events
    assert result.deviations  # recorded: EPCIS fields must be unqualified
    with duckdb.connect() as con:
        same = con.execute(
            "select count(*) from read_parquet(?) a join read_parquet(?) b using (event_hash)",
            [str(result.folder / "events.parquet"), str(expected.folder / "events.parquet")],
        ).fetchone()
    assert same == (expected.events,)
