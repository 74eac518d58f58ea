{#-
    Incremental builds by batch (work order). See docs/warehouse.md, "Incremental builds".

    int_batch_fingerprints tells, per work order, whether its raw inputs (line stream and
    allocation files, its lifecycle events, its work-order record) differ from what the
    last successful build saw (batch_build_log). The big models are incremental: a
    pre-hook deletes the changed work orders' rows, and the model selects only the
    changed work orders' input rows, which are appended.
-#}

{#- The work orders to (re)build in this run, as a list of strings (execution time only). -#}
{% macro changed_batches() %}
    {#- not ref(): unit tests of the models would need it as an input. The staging models
        that read the raw zone ref it (depends_on), and every other incremental model
        depends on one of them, so it is built before any of them runs. -#}
    {%- set batches = api.Relation.create(
        database=this.database, schema=this.schema, identifier='int_batch_fingerprints'
    ) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set result = run_query("select work_order_id from " ~ batches ~ " where is_changed order by 1") -%}
    {{ return(result.columns[0].values() | list) }}
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
