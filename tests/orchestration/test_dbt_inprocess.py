"""When the in-process dbt path re-parses the project: newest_source_mtime."""

import os
from pathlib import Path

from orchestration.dbt_inprocess import newest_source_mtime


def _touch(path: Path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (mtime, mtime))


def test_a_changed_model_yaml_or_seed_is_seen(tmp_path: Path) -> None:
    _touch(tmp_path / "dbt_project.yml", 1_000)
    _touch(tmp_path / "models" / "marts" / "a.sql", 2_000)
    assert newest_source_mtime(tmp_path) == 2_000
    _touch(tmp_path / "models" / "marts" / "_marts__models.yml", 3_000)
    assert newest_source_mtime(tmp_path) == 3_000
    _touch(tmp_path / "seeds" / "lifecycle_transitions.csv", 4_000)
    assert newest_source_mtime(tmp_path) == 4_000


def test_what_dbt_writes_is_not_walked(tmp_path: Path) -> None:
    _touch(tmp_path / "models" / "a.sql", 2_000)
    # dbt's own output: compiled SQL, logs, installed packages, newer than every source
    for written in (
        "target/compiled/serialtrace/models/a.sql",
        "target/inprocess/0123abcd/run/a.sql",
        "logs/dbt.log.yml",
        "dbt_packages/dbt_utils/macros/x.sql",
        ".user.yml",
        ".cache/x.yml",
    ):
        _touch(tmp_path / written, 9_000)
    assert newest_source_mtime(tmp_path) == 2_000
