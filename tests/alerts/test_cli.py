from __future__ import annotations

import hashlib
import io
import json
import sqlite3
from pathlib import Path

import pytest

from serialtrace.cli import main
from serialtrace.settings import Home
from serialtrace.users import UserStore
from tests.alerts.conftest import CASES, GTIN, PW


def test_alerts_cli_case_lifecycle(
    home: Home,
    users: UserStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    h = ["--home", str(home.root)]

    def run(*argv: str, user: str = "qa", stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main([*argv, "--user", user, *h])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = run("alerts", "list", user="nobody")
    assert code == 2 and "does not exist" in err
    code, out, _ = run(
        "alerts", "raise", "--identifier", CASES[0], "--description", "torn seal on case", user="op"
    )
    assert code == 0 and "opened ALR-2026-000001" in out
    case_id = "ALR-2026-000001"
    code, _, err = run("alerts", "assign", case_id, "--to", "qa", user="op")
    assert code == 2 and "needs a role among quality" in err
    assert run("alerts", "assign", case_id, "--to", "qa", user="hq")[0] == 0
    code, _, err = run("alerts", "assign", case_id, "--to", "hq", "--expect-version", "1")
    assert code == 2 and "reload it" in err
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"jpeg bytes")
    assert (
        run(
            "alerts",
            "note",
            case_id,
            "photo of the seal",
            "--kind",
            "evidence",
            "--file",
            str(photo),
        )[0]
        == 0
    )
    assert run("alerts", "note", case_id, "seal torn in transit", "--kind", "finding")[0] == 0
    code, out, _ = run("alerts", "list")
    assert code == 0 and case_id in out and "investigating" in out and "qa" in out
    code, _, err = run(
        "alerts",
        "close",
        case_id,
        "--disposition",
        "cleared",
        "--reason",
        "transit damage",
        "--password-stdin",
        stdin="wrong-password\n",
    )
    assert code == 2 and "wrong user name or password" in err
    code, out, _ = run(
        "alerts",
        "close",
        case_id,
        "--disposition",
        "cleared",
        "--reason",
        "transit damage only",
        "--password-stdin",
        stdin=PW + "\n",
    )
    assert code == 0 and "closed: cleared" in out and "Quinn Quality" in out
    code, out, _ = run("alerts", "show", case_id, "--json", user="aud")
    doc = json.loads(out)
    assert doc["case"]["status"] == "closed" and doc["signatures"][0]["valid"] is True
    assert not any(r["locked"] for r in doc["identifiers"])
    evidence = next(e for e in doc["entries"] if e["kind"] == "evidence")
    assert evidence["data"]["sha256"] == hashlib.sha256(b"jpeg bytes").hexdigest()
    code, out, _ = run("alerts", "show", case_id, user="aud")
    assert "signed: Quinn Quality (qa), approved" in out and "valid" in out

    # partner import, determination, signed illegitimate, notification
    report = tmp_path / "r.json"
    report.write_text(
        json.dumps(
            {
                "report_id": "R-1",
                "reporter_gln": "9506000000015",
                "reported_at": "2026-11-25T07:00:00Z",
                "reason": "fake",
                "gtin": GTIN,
                "serial": "S10",
            }
        )
    )
    code, out, _ = run("alerts", "import", "partner", str(report))
    assert code == 0 and "1 new case(s)" in out
    assert "0 new case(s)" in run("alerts", "import", "partner", str(report))[1]
    second = "ALR-2026-000002"
    assert (
        run(
            "alerts",
            "determine",
            second,
            "--classification",
            "counterfeit",
            "--text",
            "hologram missing",
        )[0]
        == 0
    )
    code, out, _ = run("alerts", "notification", second, "--out", str(tmp_path / "n"))
    assert code == 0 and (tmp_path / "n" / f"{second}-FDA-3911-initial.pdf").is_file()
    code, out, _ = run(
        "alerts",
        "close",
        second,
        "--disposition",
        "illegitimate",
        "--reason",
        "counterfeit confirmed",
        "--password-stdin",
        user="hq",
        stdin=PW + "\n",
    )
    assert code == 0 and "Form FDA 3911" in out

    # the trail: intact, then tampered
    code, out, _ = run("alerts", "verify-trail", user="aud")
    assert code == 0 and "intact" in out
    head = out.strip().rsplit("head ", 1)[1]
    assert run("alerts", "verify-trail", "--anchor", head, user="aud")[0] == 0
    code, _, err = run("alerts", "verify-trail", "--anchor", "3:abc", user="aud")
    assert code == 2 and "--anchor" in err
    with sqlite3.connect(home.alerts_db) as db:
        db.execute("DROP TRIGGER audit_trail_no_update")
        db.execute("UPDATE audit_trail SET user = 'mallory' WHERE seq = 3")
    code, out, _ = run("alerts", "verify-trail", user="aud")
    assert code == 1 and "BROKEN at entry 3" in out

    # escalation without any channel configured is an error, not silence
    monkeypatch.delenv("SERIALTRACE_ALERTS_SMTP", raising=False)
    monkeypatch.delenv("SERIALTRACE_ALERTS_WEBHOOK", raising=False)
    assert run("alerts", "scan-line")[0] == 0
