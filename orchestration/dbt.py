"""The dbt project (transforms/) as Dagster assets, through dagster-dbt."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from serialtrace.errors import SerialtraceError
from serialtrace.settings import PROJECT_ROOT, Home

TRANSFORMS_DIR = PROJECT_ROOT / "transforms"

dbt_project = DbtProject(project_dir=TRANSFORMS_DIR, profiles_dir=TRANSFORMS_DIR)


def dbt_environment(home: Home) -> dict[str, str]:
    """The environment variables the dbt profile and sources read."""
    return {"SERIALTRACE_RAW_DIR": str(home.raw), "SERIALTRACE_WAREHOUSE": str(home.warehouse)}


def _newest_source_mtime() -> float:
    newest = 0.0
    for pattern in ("*.sql", "*.yml", "*.yaml"):
        for path in TRANSFORMS_DIR.rglob(pattern):
            if "target" in path.parts or "logs" in path.parts:
                continue
            newest = max(newest, path.stat().st_mtime)
    return newest


def prepare_manifest(home: Home) -> Path:
    """Parse the dbt project into target/manifest.json when a model file is newer."""
    manifest = dbt_project.manifest_path
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime():
        return manifest
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_environment(home))
    result = dbtRunner().invoke(
        [
            "parse",
            "--quiet",
            "--project-dir",
            str(TRANSFORMS_DIR),
            "--profiles-dir",
            str(TRANSFORMS_DIR),
        ]
    )
    if not result.success or not manifest.exists():
        raise SerialtraceError(f"dbt parse of {TRANSFORMS_DIR} failed: {result.exception}")
    return manifest


# every dbt data test is an asset check of the model it tests: generic tests through
# their model, the singular invariants (transforms/tests/) through `meta.dagster.ref`
# in transforms/tests/_invariants.yml. A failing test is a failed check, and dbt's
# non-zero exit fails the step and the run.
translator = DagsterDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def build_dbt_assets(manifest: Path) -> Any:
    @dbt_assets(manifest=manifest, project=dbt_project, dagster_dbt_translator=translator)
    def warehouse_models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        """Every dbt model and test of transforms/ (staging, intermediate, marts)."""
        yield from dbt.cli(["build"], context=context).stream()

    return warehouse_models
