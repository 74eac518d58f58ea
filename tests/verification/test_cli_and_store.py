"""CLI (keys, serve) and the lookup store swap under a running responder."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from serialtrace.cli import main
from serialtrace.settings import PROJECT_ROOT
from tests.verification.conftest import (
    GTIN,
    LOT,
    PRODUCTS,
    REQ_GLN,
    Responding,
    make_home,
    serial_rows,
)
from tests.verification.test_service import answer, dl, get
from verification.store import store_path, write_store


def test_keys_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path / "h")
    assert main(["verify", "keys", "add", "Wholesaler Two", "--gln", REQ_GLN, "--home", home]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("stv_")
    key_id = key.split("_")[1]
    assert main(["verify", "keys", "list", "--home", home]) == 0
    listed = capsys.readouterr().out
    assert key_id in listed and key.split("_", 2)[2] not in listed and "active" in listed
    assert main(["verify", "keys", "revoke", key_id, "--home", home]) == 0
    assert main(["verify", "keys", "revoke", key_id, "--home", home]) == 2
    assert "key_id" in capsys.readouterr().err
    assert main(["verify", "keys", "add", "bad/name", "--home", home]) == 2


def test_new_store_is_picked_up_while_serving(responding: Responding) -> None:
    url = dl(responding.url, GTIN, "NEW1", LOT, "301031")
    assert get(url, responding.key)[1]["data"]["verified"] is False
    rows = [
        *serial_rows(),
        (GTIN, "NEW1", LOT, "2030-10-31", "commissioned", None, "released", "DEMO"),
    ]
    write_store(store_path(responding.home.root), rows, PRODUCTS)
    time.sleep(1.1)
    assert get(url, responding.key)[1]["data"] == {"verified": True}
    assert answer(responding, "ACTIVE1") == {"verified": True}


def test_serve_command_answers_on_loopback(tmp_path: Path) -> None:
    home = make_home(tmp_path / "h")
    from verification.keys import key_store

    key = key_store(home).add("p")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "serialtrace.cli",
            "verify",
            "serve",
            "--port",
            str(port),
            "--home",
            str(home.root),
        ],
        cwd=PROJECT_ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
                time.sleep(0.1)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/checkConnectivity?corrUUID={uuid.uuid4()}",
            headers={"Authorization": f"Bearer {key}"},
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert json.loads(reply.read())["responderGLN"] == "0312345000011"
    finally:
        server.terminate()
        server.wait(20)
    journal = home.root / "verification" / "journal"
    assert not list(journal.glob("*.jsonl")), "shutdown seals and flushes the journal"
    assert list((home.raw / "verification" / "queries").glob("part-*.parquet"))
