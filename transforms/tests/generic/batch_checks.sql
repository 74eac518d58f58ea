{#
    Every key and column check of one batch model in ONE test (one dbt node, one scan for
    the row-wise checks): a data-triggered build pays ~40 ms of dbt per node, and a model
    used to carry up to eleven of these tests. docs/warehouse.md, "Tests in an
    incremental build".

    Fails with one row per broken check: `check_name` names the rule and the columns
    (`not_null(serial)`, `unique(gtin, serial)`, `accepted_values(outcome)`,
    `relationships(gtin -> dim_products.gtin)`, `valid_gs1_key(parent_sscc, 18)`),
    `failing_rows` how many rows (or duplicated keys) break it, `example` one of them.
    The rules are those of the dbt tests they replace:

    - not_null: [column, ...]                 no null
    - unique: [[column, ...], ...]            no key twice (a one-column key: nulls aside,
                                              as dbt's unique; several: as
                                              unique_combination_of_columns)
    - accepted_values: {column: [value, ...]}  every non-null value is listed
    - relationships: [{column:, to:, field:}]  every non-null value exists in model `to`
    - gs1_keys: {column: length}               every non-null value is a valid GS1 key

    Scope (macros/test_scope.sql): when dbt builds only some work orders, the row-wise
    checks and the child side of a relationship look at the rows of the changed work
    orders (`batch_column`), a uniqueness check at every row whose key occurs in them
    (so a duplicate between a new and an old batch is still found; a key that holds the
    batch column, e.g. (work_order_id, seq), only at the changed rows: a row sharing it
    belongs to the same work order); otherwise the whole table. get_where_subquery hands this test the model unfiltered.
#}
{% test batch_checks(
    model,
    batch_column='work_order_id',
    not_null=[],
    unique=[],
    accepted_values={},
    relationships=[],
    gs1_keys={}
) %}

{%- set scope = changed_batch_predicate(batch_column) | trim -%}
{%- set whole = scope == '1 = 1' -%}
{%- set row_checks = [] -%}
{%- for column in not_null -%}
    {%- do row_checks.append(['not_null(' ~ column ~ ')', column ~ ' is null', column]) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set listed -%}
        {%- for value in values -%}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%}
    {%- endset -%}
    {%- do row_checks.append([
        'accepted_values(' ~ column ~ ')',
        column ~ ' is not null and cast(' ~ column ~ ' as varchar) not in (' ~ listed ~ ')',
        column
    ]) -%}
{%- endfor -%}
{%- for column, length in gs1_keys.items() -%}
    {%- do row_checks.append([
        'valid_gs1_key(' ~ column ~ ', ' ~ length ~ ')',
        column ~ ' is not null and not (' ~ gs1_key_is_valid(column, length) ~ ')',
        column
    ]) -%}
{%- endfor -%}

with

scoped as (

    select * from {{ model }} where {{ scope }}

),

{% if row_checks %}
row_counts as (

    select
        {% for name, failing, column in row_checks -%}
        count(*) filter (where {{ failing }}) as failing_{{ loop.index }},
        min(cast({{ column }} as varchar)) filter (where {{ failing }}) as example_{{ loop.index }}
        {{- "," if not loop.last }}
        {% endfor %}
    from scoped

),
{% endif %}

failures as (

    {% for name, failing, column in row_checks -%}
    select '{{ name }}' as check_name, failing_{{ loop.index }} as failing_rows,
        example_{{ loop.index }} as example
    from row_counts
    union all
    {% endfor -%}

    {% for relationship in relationships -%}
    {%- set column = relationship['column'] -%}
    select
        '{{ "relationships(" ~ column ~ " -> " ~ relationship["to"] ~ "." ~ relationship["field"] ~ ")" }}' as check_name,
        count(*) as failing_rows,
        min(cast(child.{{ column }} as varchar)) as example
    from scoped as child
    where child.{{ column }} is not null
        and not exists (
            select 1 from {{ ref(relationship['to']) }} as parent
            where parent.{{ relationship['field'] }} = child.{{ column }}
        )
    union all
    {% endfor -%}

    {% for key in unique -%}
    {%- set key_list = key | join(', ') -%}
    select
        'unique({{ key_list }})' as check_name,
        count(*) as failing_rows,
        min(duplicated_key) as example
    from (
        select
            concat_ws(' | ', {% for column in key %}cast({{ column }} as varchar){{ ", " if not loop.last }}{% endfor %}) as duplicated_key
        {% if not whole and batch_column in key -%}
        {#- a key holding the work order: every row sharing it is in scope already -#}
        from scoped
        where {% if key | length == 1 %}{{ key[0] }} is not null{% else %}1 = 1{% endif %}
        {%- else -%}
        from {{ model }}
        where
            {% if key | length == 1 %}{{ key[0] }} is not null{% else %}1 = 1{% endif %}
            {% if not whole %}and ({{ key_list }}) in (select {{ key_list }} from scoped){% endif %}
        {%- endif %}
        group by {{ key_list }}
        having count(*) > 1
    ) as duplicates
    union all
    {% endfor -%}

    select cast(null as varchar) as check_name, cast(0 as bigint) as failing_rows,
        cast(null as varchar) as example
    where 1 = 0

)

select check_name, failing_rows, example
from failures
where failing_rows > 0

{% endtest %}
