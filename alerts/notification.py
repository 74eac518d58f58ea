"""Regulatory notification content filled from a case: Form FDA 3911 (illegitimate product
notification, and its request for termination) and the FMD equivalent (the outcome of an
NMVS alert investigation). Exported as JSON and as a printable PDF (fpdf2).

Serialtrace does not file anything: the content is what quality enters in the FDA 3911
portal (CDER NextGen) or sends to the NMVO / national competent authority. Fields are keyed
by name, never by form field number (the form's numbering changes between revisions).
Values the installation does not know (e.g. drug use, ingredients) are ``null`` and listed
under ``to_complete``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from alerts.model import DSCSA_NOTIFY_WITHIN, Classification
from alerts.store import AlertStore
from serialtrace.errors import ValidationError
from serialtrace.users import UserStore

KINDS = ("initial", "follow_up", "termination")

_CLASSIFICATION_LABELS = {
    Classification.COUNTERFEIT: "Counterfeit",
    Classification.DIVERTED: "Diverted",
    Classification.STOLEN: "Stolen",
    Classification.INTENTIONAL_ADULTERATION: "Intentional adulteration",
    Classification.UNFIT_FOR_DISTRIBUTION: "Unfit for distribution",
    Classification.FRAUDULENT_TRANSACTION: "Fraudulent transaction",
    Classification.MANUFACTURER_HIGH_RISK: "Manufacturer: high risk of illegitimacy",
}


@dataclass(frozen=True)
class Notification:
    form: str  # 'FDA-3911' | 'FMD-alert-outcome'
    case_id: str
    content: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(
            {"form": self.form, "case_id": self.case_id, **self.content},
            indent=2,
            ensure_ascii=False,
            default=str,
        )

    def write(self, folder: Path) -> tuple[Path, Path]:
        """``<case>-<form>-<kind>.json`` and ``.pdf`` in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{self.case_id}-{self.form}-{self.content.get('type_of_report', 'outcome')}"
        json_path = folder / f"{stem}.json"
        json_path.write_text(self.to_json() + "\n", encoding="utf-8")
        pdf_path = folder / f"{stem}.pdf"
        render_pdf(self, pdf_path)
        return json_path, pdf_path


def _products(warehouse: Path, gtins: list[str]) -> dict[str, dict[str, Any]]:
    if not warehouse.is_file() or not gtins:
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {
            str(n)
            for (n,) in con.execute("select table_name from information_schema.tables").fetchall()
        }
        if "dim_products" not in tables:
            return {}
        marks = ",".join("?" * len(gtins))
        cur = con.execute(f"select * from dim_products where gtin in ({marks})", gtins)
        names = [d[0] for d in cur.description or []]
        return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def _company(warehouse: Path) -> dict[str, Any]:
    """The manufacturer's name and first site address from the warehouse, when present."""
    if not warehouse.is_file():
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {
            str(n)
            for (n,) in con.execute("select table_name from information_schema.tables").fetchall()
        }
        if "dim_locations" not in tables:
            return {}
        cur = con.execute(
            "select party_name, street, city, state, postal_code, country_code, gln"
            " from dim_locations where location_role = 'site' order by gln limit 1"
        )
        row = cur.fetchone()
        if row is None:
            return {}
        return dict(zip([d[0] for d in cur.description or []], row, strict=True))


def _contact(users: UserStore | None, name: str | None) -> dict[str, Any]:
    if users is None or not name:
        return {"name": None, "email": None}
    try:
        user = users.get(name)
    except Exception:  # an unknown name (e.g. 'system'): the contact stays to complete
        return {"name": None, "email": None}
    return {"name": user.full_name, "email": user.email}


def form_3911(
    store: AlertStore,
    case_id: str,
    warehouse: Path,
    *,
    kind: str = "initial",
    users: UserStore | None = None,
    contact_user: str | None = None,
    incident_number: str | None = None,
    termination_reason: str | None = None,
) -> Notification:
    """Form FDA 3911 content for an illegitimate-product case."""
    if kind not in KINDS:
        raise ValidationError("kind", f"one of {', '.join(KINDS)}, got {kind!r}")
    case = store.get(case_id)
    if case.determined_at is None or case.classification is None:
        raise ValidationError(
            "case", f"{case_id}: no determination of illegitimacy yet, nothing to notify"
        )
    if kind != "initial" and not incident_number:
        raise ValidationError("incident number", f"{kind} needs FDA's incident number")
    if kind == "termination" and not (termination_reason or "").strip():
        raise ValidationError("termination reason", "say why the notification can end")
    items = [r for r in store.identifiers(case_id) if r["level"] == "item"]
    gtins = sorted({r["gtin"] for r in items if r["gtin"]})
    products = _products(warehouse, gtins)
    company = _company(warehouse)
    single = products[gtins[0]] if len(gtins) == 1 and gtins[0] in products else None
    multiple = len(gtins) > 1
    entries = store.entries(case_id)
    findings = [e.text for e in entries if e.kind in ("finding", "determination")]

    def product(field: str) -> Any:
        if multiple:
            return "Multiple"
        return None if single is None else single.get(field)

    content: dict[str, Any] = {
        "type_of_report": kind,
        "fda_incident_number": incident_number if kind != "initial" else None,
        "date_of_initial_notification": None if kind == "initial" else "(as filed)",
        "date_company_determined_illegitimate": case.determined_at.date().isoformat(),
        "notify_by": (case.determined_at + DSCSA_NOTIFY_WITHIN).isoformat(),
        "classification": _CLASSIFICATION_LABELS[Classification(case.classification)],
        "product": {
            "name_on_label": product("product_name"),
            "primary_ingredients": None,
            "drug_use": None,
            "drug_description": None,
            "strength": product("strength"),
            "dosage_form": product("dosage_form"),
            "quantity": len(items),
            "unit": "packages",
            "ndc": product("ndc"),
            "serial_numbers": sorted(r["serial"] for r in items),
            "lots": sorted({r["lot"] for r in items if r["lot"]}) or None,
            "expiry_dates": sorted({r["expiry"] for r in items if r["expiry"]}) or None,
        },
        "description_of_event": "; ".join([case.title, *findings]),
        "reason_for_termination": termination_reason if kind == "termination" else None,
        "reports_filed_elsewhere": [],
        "company": {
            "name": (single or {}).get("company_name") or company.get("party_name"),
            "address": ", ".join(
                str(company[k])
                for k in ("street", "city", "state", "postal_code", "country_code")
                if company.get(k)
            )
            or None,
            "category": "Manufacturer",
            "facility_identifier": company.get("gln"),
        },
        "contact": _contact(users, contact_user or case.closed_by or case.assignee),
        "case": {
            "case_id": case.case_id,
            "alert_type": case.alert_type,
            "opened_at": case.opened_at.isoformat(),
            "disposition": case.disposition,
            "signatures": [
                {
                    "name": s.full_name,
                    "meaning": s.meaning,
                    "at": s.signed_at.isoformat(),
                    "record_sha256": s.record_hash,
                }
                for s in store.signatures(case_id)
            ],
        },
    }
    content["to_complete"] = _missing(content)
    return Notification("FDA-3911", case_id, content)


def fmd_outcome(store: AlertStore, case_id: str, *, users: UserStore | None = None) -> Notification:
    """The FMD alert-management outcome for an NMVS alert case: closed as a technical /
    scanning error, or escalated as a suspected falsification."""
    case = store.get(case_id)
    if case.alert_type != "fmd_alert":
        raise ValidationError("case", f"{case_id} is a {case.alert_type} case, not an FMD alert")
    d = case.detail
    outcome = {
        None: "under investigation",
        "cleared": "closed: not a falsification (technical or scanning error)",
        "illegitimate": "escalated: suspected falsification, competent authority informed",
    }[case.disposition]
    content: dict[str, Any] = {
        "type_of_report": "outcome" if case.disposition else "interim",
        "alert_id": d.get("alert_id"),
        "market": d.get("market"),
        "return_code": d.get("return_code"),
        "return_code_meaning": d.get("meaning"),
        "alert_raised_at": d.get("raised_at"),
        "product_code": d.get("product_code"),
        "serial_number": d.get("serial"),
        "batch": d.get("batch"),
        "expiry": d.get("expiry"),
        "location": d.get("location"),
        "investigation_outcome": outcome,
        "classification": case.classification,
        "findings": [e.text for e in store.entries(case_id) if e.kind in ("finding", "step")],
        "closed_at": None if case.closed_at is None else case.closed_at.isoformat(),
        "contact": _contact(users, case.closed_by or case.assignee),
        "case_id": case.case_id,
    }
    content["to_complete"] = _missing(content)
    return Notification("FMD-alert-outcome", case_id, content)


def _missing(content: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    optional = {
        "fda_incident_number",
        "date_of_initial_notification",
        "reason_for_termination",
        "classification",
        "closed_at",
        "location",
    }
    for key, value in content.items():
        if isinstance(value, dict):
            out.extend(_missing(value, f"{prefix}{key}."))
        elif value is None and key not in optional:
            out.append(prefix + key)
    return out


def render_pdf(notification: Notification, path: Path) -> Path:
    """A printable one-document rendering: every field with its value."""
    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    title = {
        "FDA-3911": "Form FDA 3911 - Drug Notification (content for filing)",
        "FMD-alert-outcome": "FMD alert investigation outcome",
    }[notification.form]
    pdf.cell(0, 9, _latin(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(0, 6, _latin(f"Case {notification.case_id}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    for label, value in _flatten(notification.content):
        pdf.set_font("Helvetica", "B", 9)
        pdf.multi_cell(0, 5, _latin(label), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(0, 5, _latin(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def _flatten(content: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in content.items():
        label = prefix + key.replace("_", " ")
        if isinstance(value, dict):
            rows.extend(_flatten(value, label + " / "))
        elif isinstance(value, list):
            shown = [json.dumps(v, default=str) if isinstance(v, dict) else str(v) for v in value]
            rows.append((label, ", ".join(shown) if shown else "-"))
        else:
            rows.append((label, "(to complete)" if value is None else str(value)))
    return rows


def _latin(text: str) -> str:
    """Core PDF fonts are Latin-1: replace anything else rather than fail."""
    return text.encode("latin-1", "replace").decode("latin-1")
