"""The responder over HTTP on loopback: every status, every form, auth, CMO scoping, quarantine,
the query log."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from alerts.locks import QuarantineLocks, item_key
from tests.verification.conftest import (
    EXP,
    GTIN,
    LOT,
    OTHER_GTIN,
    REQ_GLN,
    SERIALS,
    Responding,
    make_home,
)
from verification.config import config_path
from verification.keys import key_store
from verification.querylog import QUERY_LOG_SCHEMA, flush_journal, journal_dir, raw_dir
from verification.service import ResponderThread


def get(url: str, key: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def dl(base: str, gtin: str, serial: str, lot: str | None, exp: str | None, **extra: str) -> str:
    path = (
        f"/01/{gtin}" + (f"/10/{lot}" if lot else "") + f"/21/{urllib.parse.quote(serial, safe='')}"
    )
    params = {
        "linkType": "verificationService",
        "context": "dscsaSaleableReturn",
        "reqGLN": REQ_GLN,
        "corrUUID": str(uuid.uuid4()),
        **({"17": exp} if exp else {}),
        **extra,
    }
    return base + path + "?" + urllib.parse.urlencode(params)


def answer(r: Responding, serial: str, key: str | None = None, gtin: str = GTIN) -> dict[str, Any]:
    lot, exp = SERIALS[serial][0], SERIALS[serial][1]
    yymmdd = exp[2:4] + exp[5:7] + exp[8:10]
    status, body = get(dl(r.url, gtin, serial, lot, yymmdd), key or r.key)
    assert status == 200, body
    data: dict[str, Any] = body["data"]
    return data


EXPECTED = {
    "ACTIVE1": {"verified": True},
    "SHIPPED1": {"verified": True},
    "RECALL1": {"verified": True, "additionalInfo": "Recalled"},
    "LOTREC1": {"verified": True, "additionalInfo": "Recalled"},
    "EXPIRED1": {"verified": True, "additionalInfo": "Expired"},
    "BLOCKED1": {
        "verified": False,
        "verificationFailureReason": "Manufacturer_policy",
        "additionalInfo": "Suspect",
    },
    "DISP1": {"verified": False, "verificationFailureReason": "Manufacturer_policy"},
    "DEST1": {"verified": False, "verificationFailureReason": "Manufacturer_policy"},
    "REJECT1": {"verified": False, "verificationFailureReason": "Manufacturer_policy"},
    "STOLEN1": {
        "verified": False,
        "verificationFailureReason": "Not_for_re-distribution",
        "additionalInfo": "Illegitimate",
    },
    "UNUSED1": {"verified": False, "verificationFailureReason": "No_match_GTIN_Serial"},
    "ALLOC1": {"verified": False, "verificationFailureReason": "No_match_GTIN_Serial"},
    "QUAR1": {"verified": True},
}


def test_every_status_is_answered_over_http(responding: Responding) -> None:
    got = {serial: answer(responding, serial) for serial in EXPECTED}
    assert got == EXPECTED
    status, body = get(dl(responding.url, GTIN, "NEVER-ISSUED", LOT, EXP), responding.key)
    assert status == 200
    assert body["data"] == {"verified": False, "verificationFailureReason": "No_match_GTIN_Serial"}
    assert body["responderGLN"] == "0312345000011"
    assert body["verificationTimestamp"].endswith("Z")
    url = dl(responding.url, GTIN, "ACTIVE1", "L9", "301130")
    assert get(url, responding.key)[1]["data"]["verificationFailureReason"] == (
        "No_match_GTIN_Serial_Lot_Expiry"
    )


def test_correlation_id_is_echoed(responding: Responding) -> None:
    corr = str(uuid.uuid4())
    url = dl(responding.url, GTIN, "ACTIVE1", LOT, EXP, corrUUID=corr)
    assert get(url, responding.key)[1]["corrUUID"] == corr


def test_quarantine_answers_suspect_at_once(responding: Responding) -> None:
    assert answer(responding, "QUAR1") == {"verified": True}
    locks = QuarantineLocks(responding.home.alerts_db)
    locks.lock("CASE-1", [item_key(GTIN, "QUAR1")], reason="suspect return", user="qa")
    assert answer(responding, "QUAR1") == {
        "verified": False,
        "verificationFailureReason": "Not_for_re-distribution",
        "additionalInfo": "Suspect",
    }
    locks.release("CASE-1", user="qa")
    assert answer(responding, "QUAR1") == {"verified": True}


def test_every_form_gets_the_same_answer(responding: Responding) -> None:
    common = {
        "context": "dscsaSaleableReturn",
        "reqGLN": REQ_GLN,
        "corrUUID": str(uuid.uuid4()),
    }
    queries = [
        {"code": f"]d201{GTIN}17{EXP}10{LOT}\x1d21RECALL1"},
        {"code": f"https://brand.example/01/{GTIN}/10/{LOT}/21/RECALL1?17={EXP}"},
        {"ndc": "12345-678-90", "serial": "RECALL1", "lot": LOT, "exp": EXP},
        {"productCode": "SRT-10-30", "serial": "RECALL1", "lot": LOT, "exp": EXP},
        {"snomed": "386904008", "serial": "RECALL1", "lot": LOT, "exp": EXP},
        {"gtin": GTIN, "serial": "RECALL1", "lot": LOT, "exp": EXP},
    ]
    for query in queries:
        url = f"{responding.url}/verify?" + urllib.parse.urlencode({**query, **common})
        status, body = get(url, responding.key)
        assert status == 200, (query, body)
        assert body["data"] == {"verified": True, "additionalInfo": "Recalled"}, query


@pytest.mark.parametrize(
    ("url_suffix", "field"),
    [
        (
            f"/01/{GTIN}/10/{LOT}/21/A?17=309931&context=c&reqGLN={REQ_GLN}&corrUUID={uuid.uuid4()}",
            "expiry",
        ),
        (f"/01/{GTIN}/10/{LOT}/21/A?17={EXP}&context=c&corrUUID={uuid.uuid4()}", "reqGLN"),
        (f"/01/{GTIN}/10/{LOT}/21/A?17={EXP}&context=c&reqGLN={REQ_GLN}&corrUUID=x", "corrUUID"),
        (f"/01/00312345678907/21/A?context=c&reqGLN={REQ_GLN}&corrUUID={uuid.uuid4()}", "gtin"),
        (f"/01/{GTIN}/10/{LOT}?context=c&reqGLN={REQ_GLN}&corrUUID={uuid.uuid4()}", "serial"),
        (f"/verify?ndc=12345-678&serial=A&context=c&reqGLN={REQ_GLN}", "ndc"),
    ],
)
def test_malformed_requests_get_400_naming_the_field(
    responding: Responding, url_suffix: str, field: str
) -> None:
    status, text = get(responding.url + url_suffix, responding.key)
    assert status == 400
    assert text.startswith(f"{field}:"), text


def test_authentication(responding: Responding) -> None:
    url = dl(responding.url, GTIN, "ACTIVE1", LOT, EXP)
    assert get(url, None)[0] == 401
    assert get(url, responding.key + "x")[0] == 401
    assert get(url, "stv_aaaaaaaaaaaa_" + "b" * 43)[0] == 401
    keys = key_store(responding.home)
    spare = keys.add("Short-lived")
    assert get(url, spare)[0] == 200
    key_id = spare.split("_")[1]
    assert keys.revoke(key_id)
    keys_file = responding.home.users_db.read_bytes()
    assert spare.split("_", 2)[2].encode() not in keys_file  # only the hash is stored
    time.sleep(1.1)  # revocations are seen within a second
    assert get(url, spare)[0] == 401
    assert get(url.replace("/01/", "/nope/"), responding.key)[0] == 404


def test_cmo_keys_see_only_their_clients_data(responding: Responding) -> None:
    assert answer(responding, "ACTIVE1", responding.demo_key) == {"verified": True}
    assert answer(responding, "ACTIVE1", responding.acme_key) == {
        "verified": False,
        "verificationFailureReason": "No_match_GTIN_Serial",
    }
    url = dl(responding.url, OTHER_GTIN, "A1", "AL1", "301031")
    assert get(url, responding.acme_key)[1]["data"] == {"verified": True}
    assert get(url, responding.demo_key)[1]["data"]["verified"] is False


def test_every_query_lands_in_the_raw_zone(responding: Responding) -> None:
    answer(responding, "STOLEN1")
    get(dl(responding.url, GTIN, "ACTIVE1", LOT, EXP), None)
    get(dl(responding.url, GTIN, "ACTIVE1", LOT, "999999"), responding.key)
    root = responding.home.root
    assert list(journal_dir(root).glob("*.open.jsonl")), "the journal is written first"
    responding.server.responder.journal.rotate()
    assert flush_journal(root) == 3
    files = list(raw_dir(root).glob("part-*.parquet"))
    table = pq.read_table(files[0])
    assert table.schema.equals(QUERY_LOG_SCHEMA, check_metadata=False)
    rows = sorted(table.to_pylist(), key=lambda row: row["logged_at"])
    stolen, unauthenticated, bad = rows
    assert stolen["verified"] is False
    assert stolen["reason_code"] == "Not_for_re-distribution"
    assert stolen["additional_info"] == "Illegitimate"
    assert (stolen["gtin"], stolen["serial"], stolen["lot"]) == (GTIN, "STOLEN1", LOT)
    assert stolen["requestor_gln"] == REQ_GLN and stolen["correlation_id"]
    assert stolen["requestor_partner"] == "Wholesaler One"
    assert stolen["product_name"] == "Serialtrol 10 mg" and stolen["company_id"] == "DEMO"
    assert stolen["index_status"] == "decommissioned" and stolen["latency_us"] > 0
    assert (unauthenticated["http_status"], unauthenticated["outcome"]) == (401, "unauthenticated")
    assert (bad["http_status"], bad["outcome"], bad["error_field"]) == (
        400,
        "bad_request",
        "expiry",
    )
    assert flush_journal(root) == 0  # nothing twice


def test_responder_in_cmo_mode_answers_only_its_clients_keys(tmp_path: Path) -> None:
    home = make_home(tmp_path / "cmo")
    config_path(home.root).write_text('[responder]\nclient = "DEMO"\n')
    keys = key_store(home)
    demo_key, plain_key = keys.add("Client view", company_id="DEMO"), keys.add("Anyone")
    with ResponderThread(home) as url:
        status, body = get(dl(url, GTIN, "ACTIVE1", LOT, EXP), demo_key)
        assert (status, body["data"]) == (200, {"verified": True})
        status, text = get(dl(url, GTIN, "ACTIVE1", LOT, EXP), plain_key)
        assert status == 403 and "client" in text


def test_no_answer_leaves_unlogged(responding: Responding) -> None:
    responding.server.responder.journal.close()  # e.g. the disk failed
    status, text = get(dl(responding.url, GTIN, "ACTIVE1", LOT, EXP), responding.key)
    assert status == 503 and "query log" in text
