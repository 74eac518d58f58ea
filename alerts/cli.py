"""``serialtrace alerts ...``: the alert queue and case work from the command line.

Every command acts as a named user (``--user`` or ``SERIALTRACE_USER``) of the user store;
signing commands (``sign``, ``close``) ask for that user's password again (prompt,
``--password-stdin`` or ``SERIALTRACE_PASSWORD``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias

from alerts.escalation import DEFAULT_RULES, notifiers_from_env, rules_from_json, run_escalations
from alerts.model import (
    DSCSA_NOTIFY_WITHIN,
    Classification,
    Disposition,
    EntryKind,
    Severity,
    parse_identifier,
)
from alerts.notification import KINDS, fmd_outcome, form_3911
from alerts.service import dispose_case, raise_all, store_for
from alerts.sources import fmd_alerts, line_anomalies, manual_alert, partner_reports
from alerts.store import AlertStore, Case
from serialtrace.errors import SerialtraceError, ValidationError
from serialtrace.settings import Home, resolve_home
from serialtrace.users import UserStore
from serialtrace.users.cli import acting_user, add_user_argument, read_password

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

WORKERS = ("quality", "admin")
REPORTERS = ("quality", "admin", "operator", "serialization_admin")


def add_alerts_commands(sub: SubParsers) -> None:
    alerts = sub.add_parser("alerts", help="suspect product alerts: queue, cases, trail")
    cmds = alerts.add_subparsers(dest="alerts_command", required=True, parser_class=type(alerts))

    def cmd(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = cmds.add_parser(name, help=help_text)
        add_user_argument(parser)
        return parser

    p = cmd("list", "the alert queue: age, severity, owner, SLA left")
    p.add_argument("--all", action="store_true", help="include closed cases")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_list)

    p = cmd("show", "one case: identifiers, investigation, signatures, trail")
    p.add_argument("case_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_show)

    p = cmd("raise", "report suspect product by hand (opens a case, quarantines)")
    p.add_argument(
        "--identifier",
        action="append",
        required=True,
        help="(01)GTIN(21)SERIAL, GTIN:SERIAL or an SSCC (repeat)",
    )
    p.add_argument("--description", required=True)
    p.add_argument("--reference", default=None, help="your reference (default: generated)")
    p.add_argument("--severity", choices=[s.value for s in Severity], default=None)
    p.set_defaults(func=_raise)

    p = cmd("import", "import a partner suspect-product report or NMVS alerts (JSON/CSV)")
    p.add_argument("source", choices=("partner", "fmd"))
    p.add_argument("file", type=Path)
    p.set_defaults(func=_import)

    p = cmd("scan-line", "raise alerts for line anomalies in the raw line zone")
    p.set_defaults(func=_scan_line)

    p = cmd("assign", "assign a case to an investigator")
    p.add_argument("case_id")
    p.add_argument("--to", required=True, dest="assignee")
    p.add_argument("--expect-version", type=int, default=None)
    p.set_defaults(func=_assign)

    p = cmd("note", "add an investigation step, finding, evidence or note")
    p.add_argument("case_id")
    p.add_argument("text")
    p.add_argument("--kind", choices=("step", "finding", "evidence", "note"), default="note")
    p.add_argument("--file", type=Path, default=None, help="evidence file (SHA-256 recorded)")
    p.add_argument("--expect-version", type=int, default=None)
    p.set_defaults(func=_note)

    p = cmd("determine", "record that the product is illegitimate (starts the 24 h clock)")
    p.add_argument("case_id")
    p.add_argument("--classification", required=True, choices=[c.value for c in Classification])
    p.add_argument("--text", required=True)
    p.add_argument("--expect-version", type=int, default=None)
    p.set_defaults(func=_determine)

    p = cmd("sign", "sign the case record (re-enter your password)")
    p.add_argument("case_id")
    p.add_argument("--meaning", required=True, choices=("reviewed", "approved", "responsible"))
    p.set_defaults(func=_sign)

    p = cmd("close", "signed disposition: cleared (locks released) or illegitimate")
    p.add_argument("case_id")
    p.add_argument("--disposition", required=True, choices=[d.value for d in Disposition])
    p.add_argument("--reason", required=True, help="why (part of the signed record)")
    p.add_argument("--meaning", default="approved", choices=("approved", "responsible"))
    p.add_argument("--expect-version", type=int, default=None)
    p.set_defaults(func=_close)

    p = cmd("verify-trail", "prove the audit trail's hash chain intact (exit 1 if broken)")
    p.add_argument(
        "--anchor",
        default=None,
        metavar="SEQ:HASH",
        help="a head printed by an earlier run (kept outside the database) that must still hold",
    )
    p.set_defaults(func=_verify)

    p = cmd("notification", "Form FDA 3911 or FMD outcome content (JSON + PDF)")
    p.add_argument("case_id")
    p.add_argument("--form", choices=("3911", "fmd"), default="3911")
    p.add_argument("--kind", choices=KINDS, default="initial")
    p.add_argument("--incident-number", default=None)
    p.add_argument("--termination-reason", default=None)
    p.add_argument("--out", type=Path, default=None, help="folder (default: <home>/alerts/out)")
    p.set_defaults(func=_notification)

    p = cmd("escalate", "run the escalation rules once (what the Dagster schedule runs)")
    p.add_argument("--rules", type=Path, default=None, help="JSON rules (default: built in)")
    p.set_defaults(func=_escalate)


def _ctx(args: argparse.Namespace, *roles: str) -> tuple[Home, AlertStore, UserStore, str]:
    home = resolve_home(getattr(args, "home", None))
    users = UserStore(home.users_db)
    user = acting_user(args, users, *roles)
    return home, store_for(home), users, user.name


def _age(case: Case, now: datetime) -> str:
    end = case.closed_at or now
    hours = (end - case.opened_at).total_seconds() / 3600
    return f"{hours:.1f}h"


def _sla_left(case: Case, now: datetime) -> str:
    if case.closed_at:
        return "-"
    hours = (case.sla_due_at - now).total_seconds() / 3600
    return f"{hours:.1f}h" if hours >= 0 else f"OVER {-hours:.1f}h"


def _list(args: argparse.Namespace) -> int:
    _home, store, _users, _user = _ctx(args)
    now = store.clock()
    cases = store.cases(include_closed=args.all)
    if args.json:
        print(json.dumps([_case_json(c, now) for c in cases], indent=2, default=str))
        return 0
    print(
        f"{'case':<16} {'type':<15} {'severity':<9} {'status':<13} {'owner':<10} "
        f"{'age':>7} {'SLA left':>10}  title"
    )
    for c in cases:
        print(
            f"{c.case_id:<16} {c.alert_type:<15} {c.severity:<9} {c.status:<13} "
            f"{c.assignee or '-':<10} {_age(c, now):>7} {_sla_left(c, now):>10}  {c.title}"
        )
    return 0


def _case_json(c: Case, now: datetime) -> dict[str, Any]:
    return {
        **{k: getattr(c, k) for k in c.__dataclass_fields__},
        "age": _age(c, now),
        "sla_left": _sla_left(c, now),
    }


def _show(args: argparse.Namespace) -> int:
    _home, store, _users, _user = _ctx(args)
    case = store.get(args.case_id)
    now = store.clock()
    ids = store.identifiers(case.case_id)
    entries = store.entries(case.case_id)
    sigs = store.signatures(case.case_id)
    if args.json:
        doc = {
            "case": _case_json(case, now),
            "identifiers": ids,
            "entries": [e.__dict__ for e in entries],
            "signatures": [{**s.__dict__, "valid": store.verify_signature(s)} for s in sigs],
        }
        print(json.dumps(doc, indent=2, default=str))
        return 0
    print(f"{case.case_id}  {case.title}")
    print(
        f"  type {case.alert_type}  severity {case.severity}  market {case.market}  "
        f"status {case.status}  owner {case.assignee or '-'}  version {case.version}"
    )
    print(
        f"  opened {case.opened_at:%Y-%m-%d %H:%M} UTC by {case.opened_by}  age "
        f"{_age(case, now)}  SLA left {_sla_left(case, now)}"
    )
    if case.determined_at:
        print(
            f"  determined illegitimate ({case.classification}) at "
            f"{case.determined_at:%Y-%m-%d %H:%M} UTC"
        )
    if case.closed_at:
        print(
            f"  closed {case.closed_at:%Y-%m-%d %H:%M} UTC by {case.closed_by}: {case.disposition}"
        )
    print(f"  identifiers ({len(ids)}):")
    for r in ids[:50]:
        lock = "LOCKED" if r["locked"] else "released"
        print(
            f"    {r['identifier']:<40} {r['level']:<7} {r['role']:<9} "
            f"{r['status'] or 'not in warehouse':<17} {lock}"
        )
    if len(ids) > 50:
        print(f"    ... and {len(ids) - 50} more (--json lists all)")
    print("  investigation:")
    for e in entries:
        print(f"    {e.at:%Y-%m-%d %H:%M} {e.user:<10} {e.kind:<13} {e.text}")
    for s in sigs:
        state = "valid" if store.verify_signature(s) else "INVALID: record changed"
        print(
            f"  signed: {s.full_name} ({s.user}), {s.meaning}, {s.signed_at:%Y-%m-%d %H:%M} "
            f"UTC, record sha256 {s.record_hash[:16]}... {state}"
        )
    return 0


def _raise(args: argparse.Namespace) -> int:
    home, store, _users, user = _ctx(args, *REPORTERS)
    subjects = [parse_identifier(i) for i in args.identifier]
    reference = args.reference or f"{user}-{store.clock():%Y%m%dT%H%M%S%f}"
    severity = Severity(args.severity) if args.severity else None
    alert = manual_alert(reference, args.description, subjects, reported_by=user, severity=severity)
    return _report(raise_all(home, [alert], user=user))


def _report(results: list[tuple[Case, bool]]) -> int:
    for case, new in results:
        state = "opened" if new else "already open as"
        print(f"{state} {case.case_id}: {case.title}")
    print(f"{sum(n for _, n in results)} new case(s), {len(results)} alert(s)")
    return 0


def _import(args: argparse.Namespace) -> int:
    home, _store, _users, user = _ctx(args, *REPORTERS)
    parsed = partner_reports(args.file) if args.source == "partner" else fmd_alerts(args.file)
    return _report(raise_all(home, parsed, user=user))


def _scan_line(args: argparse.Namespace) -> int:
    home, _store, _users, user = _ctx(args, *REPORTERS)
    return _report(raise_all(home, line_anomalies(home.raw_line, home.raw_serials), user=user))


def _assign(args: argparse.Namespace) -> int:
    _home, store, users, user = _ctx(args, *WORKERS)
    users.require(args.assignee, *WORKERS)
    case = store.assign(
        args.case_id, args.assignee, user=user, expected_version=args.expect_version
    )
    print(f"{case.case_id} assigned to {case.assignee} (version {case.version})")
    return 0


def _note(args: argparse.Namespace) -> int:
    _home, store, _users, user = _ctx(args, *REPORTERS)
    data: dict[str, Any] = {}
    if args.file is not None:
        if not args.file.is_file():
            raise ValidationError("--file", f"{args.file} does not exist")
        data = {
            "file": args.file.name,
            "bytes": args.file.stat().st_size,
            "sha256": hashlib.sha256(args.file.read_bytes()).hexdigest(),
        }
    case = store.add_entry(
        args.case_id,
        EntryKind(args.kind),
        args.text,
        user=user,
        data=data,
        expected_version=args.expect_version,
    )
    print(f"{case.case_id}: {args.kind} recorded (version {case.version})")
    return 0


def _determine(args: argparse.Namespace) -> int:
    _home, store, _users, user = _ctx(args, *WORKERS)
    case = store.determine(
        args.case_id,
        Classification(args.classification),
        args.text,
        user=user,
        expected_version=args.expect_version,
    )
    assert case.determined_at is not None
    print(
        f"{case.case_id}: determined {case.classification}; notify FDA and partners by "
        f"{case.determined_at + DSCSA_NOTIFY_WITHIN:%Y-%m-%d %H:%M} UTC "
        f"(serialtrace alerts notification {case.case_id})"
    )
    return 0


def _sign(args: argparse.Namespace) -> int:
    _home, store, users, user = _ctx(args, *WORKERS)
    password = read_password(args, f"password for {user} (signing {args.case_id}): ")
    sig = store.sign(args.case_id, users, user, password, args.meaning)
    print(
        f"{args.case_id} signed by {sig.full_name} ({sig.meaning}) at "
        f"{sig.signed_at:%Y-%m-%d %H:%M:%S} UTC; record sha256 {sig.record_hash}"
    )
    return 0


def _close(args: argparse.Namespace) -> int:
    home, _store, users, user = _ctx(args, *WORKERS)
    password = read_password(args, f"password for {user} (signing {args.case_id}): ")
    case, sig = dispose_case(
        home,
        args.case_id,
        Disposition(args.disposition),
        args.reason,
        users,
        user,
        password,
        meaning=args.meaning,
        expected_version=args.expect_version,
    )
    print(
        f"{case.case_id} closed: {case.disposition}; signed by {sig.full_name} "
        f"({sig.meaning}) at {sig.signed_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    if case.disposition == "illegitimate":
        print(f"  next: serialtrace alerts notification {case.case_id} (Form FDA 3911)")
    return 0


def _verify(args: argparse.Namespace) -> int:
    _home, store, _users, _user = _ctx(args)
    anchor = None
    if args.anchor:
        seq, sep, digest = args.anchor.partition(":")
        if not sep or not seq.isdigit() or len(digest) != 64:
            raise ValidationError("--anchor", f"SEQ:HASH (64 hex), got {args.anchor!r}")
        anchor = (int(seq), digest)
    check = store.verify_trail(anchor)
    print(check)
    return 0 if check.intact else 1


def _notification(args: argparse.Namespace) -> int:
    home, store, users, user = _ctx(args)
    if args.form == "fmd":
        note = fmd_outcome(store, args.case_id, users=users)
    else:
        note = form_3911(
            store,
            args.case_id,
            home.warehouse,
            kind=args.kind,
            users=users,
            contact_user=user,
            incident_number=args.incident_number,
            termination_reason=args.termination_reason,
        )
    json_path, pdf_path = note.write(args.out or home.root / "alerts" / "out")
    missing = note.content.get("to_complete") or []
    print(f"{note.form} content for {args.case_id}:\n  {json_path}\n  {pdf_path}")
    if missing:
        print(f"  to complete before filing: {', '.join(missing)}")
    return 0


def _escalate(args: argparse.Namespace) -> int:
    _home, store, users, _user = _ctx(args, *WORKERS)
    rules = rules_from_json(args.rules.read_text()) if args.rules else DEFAULT_RULES
    run = run_escalations(store, users, notifiers_from_env(), rules)
    for m in run.sent:
        print(f"escalated {m.case_id} to {m.level} ({m.rule_id})")
    for m, why in run.failed:
        print(f"NOT sent {m.case_id} {m.rule_id}: {why}")
    if run.failed:
        raise SerialtraceError(f"{len(run.failed)} escalation(s) not sent; they are retried")
    return 0
