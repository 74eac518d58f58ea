{#-
    Point-lookup indexes for the dashboards (docs/dashboards.md, "Serial lookups at ten
    million units"). DuckDB uses an ART index for an equality filter on the one column of
    a single-column index (not for a filter on two columns, nor for a two-column index),
    so a model indexes the column a lookup narrows to a few rows (e.g. the serial) and the
    reader filters the rest.

    DuckDB cannot rename a table an index depends on, and a table build (the first build,
    a full refresh) renames its new table into place: the pre-hook drops the index before
    such a build, the post-hook creates it after. An incremental run keeps the index, which
    DuckDB maintains through the run's deletes and appends.
-#}

{% macro lookup_index_name(column) -%}
    {{ this.identifier }}__{{ column }}_idx
{%- endmacro %}

{#- Pre-hook: drop the index when the table is about to be rebuilt whole. -#}
{% macro drop_lookup_index(column) %}
    {%- if execute and model.resource_type == 'model' and not is_incremental() -%}
        drop index if exists "{{ this.schema }}"."{{ lookup_index_name(column) }}"
    {%- endif -%}
{% endmacro %}

{#- Post-hook: the index on `column`, created when missing. -#}
{% macro create_lookup_index(column) %}
    {%- if execute and model.resource_type == 'model' -%}
        create index if not exists "{{ lookup_index_name(column) }}" on {{ this }} ("{{ column }}")
    {%- endif -%}
{% endmacro %}

{#- The config of a model with a lookup index on `column`. -#}
{% macro lookup_index_config(column) %}
    {{ config(
        pre_hook="{{ drop_lookup_index('" ~ column ~ "') }}",
        post_hook="{{ create_lookup_index('" ~ column ~ "') }}"
    ) }}
{% endmacro %}

{#-
    on-run-start: a full refresh drops the lookup indexes before any model runs. A model
    thread whose transaction began while an indexed table still existed fails on
    duckdb_indexes() (which dbt-duckdb queries before a rename) once another thread has
    renamed and dropped that table (DuckDB: "Table with name ..__dbt_backup does not
    exist"); with the indexes gone before the first model starts, no transaction ever sees
    an index on a table a full refresh renames. The post-hooks create them again.
-#}
{% macro drop_lookup_indexes_before_full_refresh() %}
    {%- if execute and flags.FULL_REFRESH -%}
        drop index if exists "{{ target.schema }}"."int_serials_line_status__serial_idx";
        drop index if exists "{{ target.schema }}"."aggregation_hierarchy__parent_sscc_idx";
    {%- endif -%}
{% endmacro %}
