{#-
    Incremental builds by batch (work order). See docs/warehouse.md, "Incremental builds".

    int_batch_fingerprints tells, per work order, whether its raw inputs (line stream and
    allocation files, its lifecycle events, its work-order record) differ from what the
    last successful build saw (batch_build_log). The big models are incremental: a
    pre-hook deletes the changed work orders' rows, and the model selects only the
    changed work orders' input rows, which are appended.
-#}

{#-
    The batch scope of this build: what int_batch_fingerprints says, as
    {'changed': [work orders to (re)build, sorted], 'unchanged': how many are not}, or none
    when the table does not exist yet (execution time only).

    Every batch-incremental model and every scoped test asks for it (some 70 times in a
    data-triggered build), so the build reads it once: remember_batch_scope(), the
    post-hook of int_batch_fingerprints, reads the table just after its commit and keeps
    the answer in dbt's `graph` (the one dictionary every node of an invocation shares;
    in process it outlives the invocation, hence the invocation id: another invocation,
    `dbt test` say, reads the table again, which may have changed in between). An
    invocation that does not rebuild the table reads it on every call.
-#}
{% macro batch_scope() %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set kept = graph.get('serialtrace_batch_scope') -%}
    {%- if kept is not none and kept.invocation_id == invocation_id -%}
        {{ return(kept.scope) }}
    {%- endif -%}
    {{ return(read_batch_scope()) }}
{% endmacro %}

{% macro read_batch_scope() %}
    {#- read by name, not ref(): unit tests of the models would need it as an input. The
        staging models that read the raw zone ref it (depends_on), and every other
        incremental model depends on one of them, so it is built before any of them runs. -#}
    {%- set fingerprints = adapter.get_relation(
        database=target.database, schema=target.schema, identifier='int_batch_fingerprints'
    ) -%}
    {%- if fingerprints is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        "select work_order_id, is_changed from " ~ fingerprints ~ " order by 1"
    ) -%}
    {%- set changed = [] -%}
    {%- set unchanged = [] -%}
    {%- for row in result.rows -%}
        {%- do (changed if row[1] else unchanged).append(row[0]) -%}
    {%- endfor -%}
    {{ return({'changed': changed, 'unchanged': unchanged | length}) }}
{% endmacro %}

{#- Post-hook of int_batch_fingerprints, after its commit: this invocation's scope, read
    once, for every node after it. -#}
{% macro remember_batch_scope() %}
    {%- if execute -%}
        {%- do graph.update({'serialtrace_batch_scope': {
            'invocation_id': invocation_id, 'scope': read_batch_scope()
        }}) -%}
    {%- endif -%}
{% endmacro %}

{#- The work orders to (re)build in this run, as a list of strings (execution time only). -#}
{% macro changed_batches() %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set scope = batch_scope() -%}
    {%- if scope is none -%}
        {{ exceptions.raise_compiler_error(
            "int_batch_fingerprints does not exist: build it before the incremental models"
        ) }}
    {%- endif -%}
    {{ return(scope.changed) }}
{% endmacro %}

{#-
    A predicate on `column` that keeps the rows of the changed work orders when the model
    is built incrementally, and every row otherwise. The work orders are rendered as
    literals, so a filter on a hive partition column prunes the raw files.
-#}
{% macro batch_filter(column) %}
    {%- if execute and model.resource_type == 'model' and is_incremental() -%}
        {%- set ids = changed_batches() -%}
        {%- if ids | length == 0 -%}
            1 = 0
        {%- else -%}
            {{ column }} in ({% for id in ids %}'{{ id | replace("'", "''") }}'{{ "," if not loop.last }}{% endfor %})
        {%- endif -%}
    {%- else -%}
        1 = 1
    {%- endif -%}
{% endmacro %}

{#- Pre-hook of the incremental models: drop the rows of the work orders being rebuilt. -#}
{% macro delete_changed_batches(column='work_order_id') %}
    {%- if execute and model.resource_type == 'model' and is_incremental() -%}
        delete from {{ this }} where {{ batch_filter(column) }}
    {%- endif -%}
{% endmacro %}

{#- The config every batch-incremental model shares. -#}
{% macro batch_incremental_config() %}
    {{ config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_changed_batches() }}",
        meta={'batch_column': 'work_order_id'}
    ) }}
{% endmacro %}

{#-
    The line-stream and allocation staging models: views over the raw Parquet (no copy;
    the incremental models read them with their batch filter, which DuckDB pushes down
    to the Parquet scan). Every row belongs to one work order (test scope, test_scope.sql).
-#}
{% macro batch_view_config() %}
    {{ config(materialized='view', meta={'batch_column': 'work_order_id'}) }}
{% endmacro %}
