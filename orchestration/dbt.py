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
from dagster_dbt.asset_utils import get_updated_cli_invocation_params_for_context
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

from orchestration.dbt_inprocess import InvocationOutcome, newest_source_mtime, stream_dbt
from orchestration.resources import DuckDBWarehouse, RawZone
from serialtrace.errors import SerialtraceError
from serialtrace.settings import PROJECT_ROOT, Home

TRANSFORMS_DIR = PROJECT_ROOT / "transforms"

dbt_project = DbtProject(project_dir=TRANSFORMS_DIR, profiles_dir=TRANSFORMS_DIR)


def dbt_environment(home: Home) -> dict[str, str]:
    """The environment variables the dbt profile and sources read."""
    return {"SERIALTRACE_RAW_DIR": str(home.raw), "SERIALTRACE_WAREHOUSE": str(home.warehouse)}


def prepare_manifest(home: Home) -> Path:
    """Parse the dbt project into target/manifest.json when a model file is newer."""
    manifest = dbt_project.manifest_path
    if manifest.exists() and manifest.stat().st_mtime >= newest_source_mtime(TRANSFORMS_DIR):
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


def run_dbt_build(
    context: AssetExecutionContext,
    manifest: Path,
    dbt: DbtCliResource,
    env: dict[str, str],
) -> Iterator[Any]:
    """``dbt build`` of the assets (and checks) the run selected, in this process
    (orchestration/dbt_inprocess.py): the same selection arguments dagster-dbt would give
    its child process, the same event conversion, no new interpreter and no re-parse."""
    params = get_updated_cli_invocation_params_for_context(
        context=context, manifest=dbt_project_manifest(manifest), dagster_dbt_translator=translator
    )
    if params.indirect_selection:
        env = {**env, "DBT_INDIRECT_SELECTION": params.indirect_selection}
    project_dir = Path(params.dbt_project.project_dir) if params.dbt_project else TRANSFORMS_DIR
    outcome = InvocationOutcome()
    for raw_event in stream_dbt(
        ["build", *params.selection_args],
        project_dir=project_dir,
        profiles_dir=Path(dbt.profiles_dir or TRANSFORMS_DIR),
        env=env,
        outcome=outcome,
    ):
        event = DbtCoreCliEventMessage(raw_event=raw_event, event_history_metadata={})
        yield from event.to_default_asset_events(
            manifest=params.manifest, dagster_dbt_translator=translator, context=context
        )
    if not outcome.success:
        # a failing test already failed its asset check; the run fails loudly too
        failed = ", ".join(outcome.failed()) or str(outcome.exception)
        raise SerialtraceError(f"dbt build failed: {failed}")


def dbt_project_manifest(manifest: Path) -> dict[str, Any]:
    """manifest.json as a dictionary (what dagster-dbt's selection helpers read)."""
    from dagster_dbt.dbt_manifest import validate_manifest

    return dict(validate_manifest(manifest))


def build_dbt_assets(manifest: Path) -> Any:
    @dbt_assets(manifest=manifest, project=dbt_project, dagster_dbt_translator=translator)
    def warehouse_models(
        context: AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: DuckDBWarehouse,
        raw_zone: RawZone,
    ) -> Iterator[Any]:
        """Every dbt model and test of transforms/ (staging, intermediate, marts)."""
        env = {"SERIALTRACE_RAW_DIR": raw_zone.path, "SERIALTRACE_WAREHOUSE": warehouse.path}
        yield from run_dbt_build(context, manifest, dbt, env)

    return warehouse_models
