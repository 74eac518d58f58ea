{#-
    Data tests limited to the changed batches in an incremental build
    (docs/warehouse.md, "Tests in an incremental build").

    A model whose rows each belong to one work order says so with
    `meta: {batch_column: work_order_id}` (the batch-incremental models and the line
    staging views, see incremental_batches.sql). When dbt builds only some work orders
    (int_batch_fingerprints has unchanged rows), the tests of such a model look at the
    rows of the changed work orders only: the rows of the other work orders were tested
    by the build that wrote them and have not been touched since. When every work order
    is being built (first build, --full-refresh, or everything changed) every test sees
    the whole table, exactly as before.
-#}

{#- The work orders this build (re)builds, or none when it builds all of them. -#}
{% macro batches_under_test() %}
    {%- set scope = batch_scope() -%}
    {%- if scope is none or scope.unchanged == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(scope.changed) }}
{% endmacro %}

{#- A predicate on `column` keeping the work orders under test (all of them: 1 = 1). -#}
{% macro changed_batch_predicate(column) %}
    {%- set ids = batches_under_test() -%}
    {%- if ids is none -%}
        1 = 1
    {%- elif ids | length == 0 -%}
        1 = 0
    {%- else -%}
        {{ column }} in ({% for id in ids %}'{{ id | replace("'", "''") }}'{{ "," if not loop.last }}{% endfor %})
    {%- endif -%}
{% endmacro %}

{#-
    dbt's hook for generic tests (`where` config): the relation a generic test reads.
    For a model with a batch_column, in an incremental build, only the changed work
    orders' rows; a uniqueness test keeps every row whose key occurs in them, so a
    duplicate across an old and a new batch is still found.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set tested = graph.nodes.get(model.attached_node) if execute and model.attached_node else none -%}
    {%- set batch_column = tested.config.meta.get('batch_column') if tested is not none else none -%}
    {%- set ids = batches_under_test() if batch_column else none -%}
    {%- if ids is none -%}
        {%- if where -%}
            {{ return("(select * from " ~ relation ~ " where " ~ where ~ ") dbt_subquery") }}
        {%- else -%}
            {{ return(relation) }}
        {%- endif -%}
    {%- endif -%}
    {%- set test_name = model.test_metadata.name -%}
    {%- if test_name == 'batch_checks' -%}
        {#- scopes each of its checks itself (tests/generic/batch_checks.sql) -#}
        {{ return(relation) }}
    {%- endif -%}
    {%- set kwargs = model.test_metadata.kwargs -%}
    {%- set scope = changed_batch_predicate(batch_column) -%}
    {%- if test_name == 'unique' -%}
        {%- set keys = [kwargs.column_name] -%}
    {%- elif test_name == 'unique_combination_of_columns' -%}
        {%- set keys = kwargs.combination_of_columns -%}
    {%- else -%}
        {%- set keys = [] -%}
    {%- endif -%}
    {%- if keys -%}
        {%- set key_list = keys | join(', ') -%}
        {%- set scope -%}
            ({{ key_list }}) in (select {{ key_list }} from {{ relation }} where {{ scope }})
        {%- endset -%}
    {%- endif -%}
    {%- if where -%}
        {%- set scope = "(" ~ where ~ ") and " ~ scope -%}
    {%- endif -%}
    {{ return("(select * from " ~ relation ~ " where " ~ scope ~ ") dbt_subquery") }}
{%- endmacro %}
