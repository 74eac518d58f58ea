"""The dbt seed ``transforms/seeds/lifecycle_transitions.csv``, generated from the state
machine so the warehouse replays events through the same table as Python.

``python -m serialtrace.lifecycle.seed`` rewrites the file; a test checks it is current.
"""

from __future__ import annotations

import csv
import io

from serialtrace.lifecycle.machine import transition_rows
from serialtrace.settings import PROJECT_ROOT

SEED_PATH = PROJECT_ROOT / "transforms" / "seeds" / "lifecycle_transitions.csv"


def render_seed() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["from_status", "to_status", "reason"])
    for source, target, reason in transition_rows():
        writer.writerow([source, target, reason or ""])
    return out.getvalue()


def main() -> None:
    SEED_PATH.write_text(render_seed())
    print(f"wrote {SEED_PATH}")


if __name__ == "__main__":
    main()
