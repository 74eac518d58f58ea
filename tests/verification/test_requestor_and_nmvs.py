"""The requestor against this project's own responder and a second, independently configured
instance (other home, other keys); EU pack-state lookups against a stand-in NMVS."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq
import pytest

from serialtrace.cli import main
from serialtrace.errors import ConfigurationError, SerialtraceError
from serialtrace.settings import Home
from tests.verification.conftest import GTIN, LOT, OTHER_GTIN, Responding, make_home
from verification.config import config_path, load_config
from verification.keys import key_store
from verification.messages import AdditionalInfo, FailureReason, ProductIdentifier
from verification.nmvs import lookup_pack
from verification.querylog import flush_journal, raw_dir
from verification.requestor import ask
from verification.service import ResponderThread


@pytest.fixture
def second(tmp_path: Path) -> Iterator[tuple[Home, str, str]]:
    """Another manufacturer: its own home, store, keys and responder GLN."""
    home = make_home(tmp_path / "acme")
    config_path(home.root).write_text('[responder]\ngln = "9506000000015"\n')
    key = key_store(home).add("Serialtrace Demo Pharma", gln="0312345000011")
    with ResponderThread(home) as url:
        yield home, url, key


def test_ask_routes_by_gtin_prefix_and_logs(
    responding: Responding,
    second: tuple[Home, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asker = Home(tmp_path / "asker").ensure()
    config_path(asker.root).write_text(
        f"""
[requestor]
gln = "0614141000012"

[[directory]]
gtin_prefix = "0031234"
url = "{responding.url}"
api_key_env = "OWN_VRS_KEY"

[[directory]]
gtin_prefix = "095060"
url = "{second[1]}"
api_key_env = "ACME_VRS_KEY"
"""
    )
    monkeypatch.setenv("OWN_VRS_KEY", responding.key)
    monkeypatch.setenv("ACME_VRS_KEY", second[2])
    own = ask(asker, ProductIdentifier(GTIN, "RECALL1", LOT, "301031"))
    assert own.response is not None and own.body is not None
    assert (own.response.verified, own.response.additional_info) == (True, AdditionalInfo.RECALLED)
    assert own.body["responderGLN"] == "0312345000011"
    other = ask(asker, ProductIdentifier(OTHER_GTIN, "A1", "AL1", "301031"))
    assert other.response is not None and other.body is not None
    assert other.response.verified and other.body["responderGLN"] == "9506000000015"
    wrong = ask(asker, ProductIdentifier(OTHER_GTIN, "A1", "WRONG", "301031"))
    assert wrong.response is not None
    assert wrong.response.failure_reason is FailureReason.NO_MATCH_GTIN_SERIAL_LOT
    monkeypatch.setenv("ACME_VRS_KEY", responding.key)  # a key the other instance never issued
    refused = ask(asker, ProductIdentifier(OTHER_GTIN, "A1", "AL1", "301031"))
    assert refused.http_status == 401 and refused.response is None
    with pytest.raises(SerialtraceError, match="gtin"):
        ask(asker, ProductIdentifier("04006381333931", "A1"))
    monkeypatch.setenv("ACME_VRS_KEY", second[2])
    code = f"(01){OTHER_GTIN}(17)301031(10)AL1(21)A1"
    assert main(["verify", "ask", code, "--home", str(asker.root)]) == 0
    assert (
        main(["verify", "ask", "--gtin", GTIN, "--serial", "DISP1", "--home", str(asker.root)]) == 1
    )
    assert flush_journal(asker.root) == 6
    table = pq.read_table(raw_dir(asker.root)).to_pylist()
    assert {r["direction"] for r in table} == {"outgoing"}
    assert sorted(r["outcome"] for r in table) == [
        "not_verified",
        "not_verified",
        "unauthenticated",
        "verified",
        "verified",
        "verified",
    ]


def test_directory_needs_the_key_in_the_environment(tmp_path: Path) -> None:
    home = Home(tmp_path / "h").ensure()
    config_path(home.root).write_text(
        '[[directory]]\ngtin_prefix = "0"\nurl = "http://127.0.0.1:9"\napi_key_env = "NOPE_KEY"\n'
    )
    with pytest.raises(ConfigurationError, match="NOPE_KEY"):
        ask(home, ProductIdentifier(GTIN, "A1"))


class _Nmvs(BaseHTTPRequestHandler):
    packs: ClassVar[dict[tuple[str, str], tuple[str, str | None]]] = {
        ("00312345678906", "ACTIVE1"): ("Active", None),
        ("00312345678906", "DISP1"): ("Inactive", "Supplied"),
    }

    def do_GET(self) -> None:
        expected = "Basic " + base64.b64encode(b"obp-user:s3cret").decode()
        if self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.end_headers()
            return
        query = parse_qs(urlsplit(self.path).query)
        pack = (query["productCode"][0], query["serialNumber"][0])
        state, reason = self.packs.get(pack, ("Inactive", None))
        code = None if pack in self.packs else "NMVS_NC_PC_02"
        body = json.dumps({"state": state, "reason": reason, "returnCode": code}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def nmvs_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Nmvs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    home = Home(tmp_path / "eu").ensure()
    config_path(home.root).write_text(
        f'[[market]]\ncode = "DE"\nurl = "http://127.0.0.1:{server.server_port}"\n'
        'user_env = "NMVS_DE_USER"\npassword_env = "NMVS_DE_PASSWORD"\n'
    )
    monkeypatch.setenv("NMVS_DE_USER", "obp-user")
    monkeypatch.setenv("NMVS_DE_PASSWORD", "s3cret")
    yield home
    server.shutdown()
    server.server_close()


def test_nmvs_pack_states(nmvs_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    active = lookup_pack(nmvs_home, "de", ProductIdentifier(GTIN, "ACTIVE1", LOT, "301031"))
    assert active.as_dict() == {
        "market": "DE",
        "state": "Active",
        "reason": None,
        "returnCode": None,
    }
    supplied = lookup_pack(nmvs_home, "DE", ProductIdentifier(GTIN, "DISP1"))
    assert (supplied.active, supplied.reason) == (False, "Supplied")
    unknown = lookup_pack(nmvs_home, "DE", ProductIdentifier(GTIN, "NOPE"))
    assert (unknown.active, unknown.return_code) == (False, "NMVS_NC_PC_02")
    with pytest.raises(ConfigurationError, match="FR"):
        lookup_pack(nmvs_home, "FR", ProductIdentifier(GTIN, "ACTIVE1"))
    monkeypatch.setenv("NMVS_DE_PASSWORD", "wrong")
    with pytest.raises(SerialtraceError, match="401"):
        lookup_pack(nmvs_home, "DE", ProductIdentifier(GTIN, "ACTIVE1"))
    monkeypatch.delenv("NMVS_DE_PASSWORD")
    with pytest.raises(ConfigurationError, match="NMVS_DE_PASSWORD"):
        lookup_pack(nmvs_home, "DE", ProductIdentifier(GTIN, "ACTIVE1"))
    monkeypatch.setenv("NMVS_DE_PASSWORD", "s3cret")
    assert (
        main(["verify", "nmvs", "DE", f"(01){GTIN}(21)DISP1", "--home", str(nmvs_home.root)]) == 1
    )
    assert flush_journal(nmvs_home.root) == 5
    rows = pq.read_table(raw_dir(nmvs_home.root)).to_pylist()
    assert all("s3cret" not in json.dumps(r, default=str) for r in rows)
    assert {r["context"] for r in rows} == {"nmvs:DE"}


def test_config_errors_name_the_setting(tmp_path: Path) -> None:
    home = Home(tmp_path / "c").ensure()
    config_path(home.root).write_text(
        '[[market]]\ncode = "DE"\nurl = "ftp://x"\nuser_env = "A"\npassword_env = "B"\n'
    )
    with pytest.raises(SerialtraceError, match=r"market\[0\]\.url"):
        load_config(home.root)
    config_path(home.root).write_text('[responder]\ngln = "123"\n')
    with pytest.raises(SerialtraceError, match=r"responder\.gln"):
        load_config(home.root)
