{#
    Every key and column check of one model in ONE test (one dbt node): a data-triggered
    build pays ~40 ms of dbt per node, and a model used to carry up to twenty of these
    tests. docs/warehouse.md, "Tests in an incremental build".

    Fails with one row per broken check: `check_name` names the rule and the columns
    (`not_null(serial)`, `unique(gtin, serial)`, `accepted_values(outcome)`,
    `relationships(gtin -> dim_products.gtin)`, `valid_gs1_key(parent_sscc, 18)`; a check
    limited by a `where` ends with it: `not_null(reason) where station_event = 'refused'`),
    `failing_rows` how many rows (or duplicated keys) break it, `example` one of them.
    The rules are those of the dbt tests they replace:

    - not_null: [column | {column:, where:}, ...]      no null (among the rows where ...)
    - unique: [[column, ...] | {columns:, where:}, ...] no key twice (a one-column key:
                                              nulls aside, as dbt's unique; several: as
                                              unique_combination_of_columns)
    - accepted_values: {column: [value, ...]}  every non-null value is listed
    - relationships: [{column:, to:, field:}]  every non-null value exists in model `to`
                     [{columns:, to:, fields:, within_batch: true}]
                                              a compound one; within_batch: only in a
                                              scoped build, against the changed work
                                              orders' rows of `to` (below)
    - gs1_keys: {column: length}               every non-null value is a valid GS1 key
    - expressions: [sql, ...]                  true on every row (named expression(sql))

    within_batch (unique and relationships): a key checked across every batch at its
    source (stg_serials__allocations: (gtin, serial)) need not be checked across
    batches again downstream. A downstream model tied to its own batch's source rows
    (a within_batch relationship on (work_order_id, gtin, serial): stg_line__prints and
    serial_lifecycle to the allocations, int_units_inspected to the prints)
    and whose key is a function of them (an expression: unit_key = '(01)' || gtin ||
    '(21)' || serial) cannot hold a key of another batch unless the source holds it
    twice, which the source's check finds. So in a scoped build its key is checked
    among the changed work orders' rows alone (reading their rows, not the whole key
    column: ~1 CPU s of a data-triggered build at 10 M units), and the tie is checked
    against the changed work orders' source rows. A whole build checks every key
    across all batches directly and skips the tie.

    What each costs at 10 M rows (DuckDB, docs/benchmarks.md "Session 5"): the null and
    accepted-value checks share one aggregate pass (a null has no example; a value is
    cast to text after `min`, not before: casting every timestamp of 10 M rows to text
    cost more than all the checks); a GS1 key column is grouped by value
    and each distinct value's digits are checked once (a row-wise mod-10 sum is ~17
    substrings a row: 7-9 CPU s per column, against < 1 s grouped); a relationship is a
    left join keeping the unmatched child rows (a correlated `not exists` made DuckDB
    materialize every column of the model first: 5 CPU s on a 10 M-row view); a key is
    grouped by its 64-bit hash first (a fixed-width group key: 20-40 % less CPU than
    grouping 10 M text keys) and only the keys whose hash occurs twice are then grouped
    by value (exact: a hash collision alone fails nothing, a real duplicate always
    collides; in a scoped build the few keyed rows are grouped by value at once), its
    example built from the duplicated keys only. The model is read in
    a subquery per check, never through a CTE shared by several checks: DuckDB
    materializes a CTE referenced more than once (every column, every row).

    Scope (macros/test_scope.sql): when dbt builds only some work orders, the row-wise
    checks and the child side of a relationship look at the rows of the changed work
    orders (`batch_column`), a uniqueness check at every row whose key occurs in them
    (so a duplicate between a new and an old batch is still found; a key that holds the
    batch column, e.g. (work_order_id, seq), only at the changed rows: a row sharing it
    belongs to the same work order); otherwise the whole table. `batch_column: null`
    (a model whose rows the batch fingerprints do not cover, the line_ops views, or
    one rebuilt whole: the lifecycle events, the fingerprints and the build log) always
    checks the whole table. get_where_subquery hands this test
    the model unfiltered.
#}
{% test batch_checks(
    model,
    batch_column='work_order_id',
    not_null=[],
    unique=[],
    accepted_values={},
    relationships=[],
    gs1_keys={},
    expressions=[]
) %}

{%- set scope = (changed_batch_predicate(batch_column) | trim) if batch_column else '1 = 1' -%}
{%- set whole = scope == '1 = 1' -%}
{%- set scoped -%}(select * from {{ model }} where {{ scope }}){%- endset -%}
{#- every relationship's model is a dependency, also one only a scoped build reads -#}
{%- for relationship in relationships -%}{%- do ref(relationship['to']) -%}{%- endfor -%}
{%- set row_checks = [] -%}
{%- for entry in not_null -%}
    {%- if entry is mapping -%}
        {%- do row_checks.append([
            'not_null(' ~ entry['column'] ~ ') where ' ~ entry['where'],
            entry['column'] ~ ' is null and (' ~ entry['where'] ~ ')',
            none
        ]) -%}
    {%- else -%}
        {%- do row_checks.append(['not_null(' ~ entry ~ ')', entry ~ ' is null', none]) -%}
    {%- endif -%}
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

{%- for entry in expressions -%}
    {%- do row_checks.append([
        'expression(' ~ entry ~ ')',
        '(' ~ entry ~ ') is not true',
        none
    ]) -%}
{%- endfor -%}

with

{% if row_checks %}
row_counts as (

    select
        {% for name, failing, column in row_checks -%}
        count(*) filter (where {{ failing }}) as failing_{{ loop.index }},
        {% if column -%}
        cast(min({{ column }}) filter (where {{ failing }}) as varchar)
        {%- else -%}
        cast(null as varchar)
        {%- endif %} as example_{{ loop.index }}
        {{- "," if not loop.last }}
        {% endfor %}
    from {{ scoped }} as scoped

),
{% endif %}

failures as (

    {% for name, failing, column in row_checks -%}
    select '{{ name | replace("'", "''") }}' as check_name, failing_{{ loop.index }} as failing_rows,
        example_{{ loop.index }} as example
    from row_counts
    union all
    {% endfor -%}

    {% for column, length in gs1_keys.items() -%}
    {%- set invalid -%}not ({{ gs1_key_is_valid('key_value', length) }}){%- endset %}
    select
        'valid_gs1_key({{ column }}, {{ length }})' as check_name,
        cast(coalesce(sum(key_rows) filter (where {{ invalid }}), 0) as bigint) as failing_rows,
        min(cast(key_value as varchar)) filter (where {{ invalid }}) as example
    from (
        select {{ column }} as key_value, count(*) as key_rows
        from {{ scoped }} as scoped
        where {{ column }} is not null
        group by {{ column }}
    ) as key_values
    union all
    {% endfor -%}

    {% for relationship in relationships
        if not (relationship.get('within_batch', false) and whole) -%}
    {#- a within_batch relationship ties each changed row to its own batch's row upstream,
        so that a key checked within the changed batches is still unique across them; a
        whole build checks every key across all batches and does not need it -#}
    {%- set columns = relationship['columns'] if 'columns' in relationship else [relationship['column']] -%}
    {%- set fields = relationship['fields'] if 'fields' in relationship else [relationship['field']] -%}
    {%- set within = relationship.get('within_batch', false) and not whole -%}
    {%- set child_list = columns | join(', ') -%}
    {%- set field_list = fields | join(', ') -%}
    {%- set parent -%}
        {%- if within -%}
        {#- the parent rows of the changed work orders alone: the child's work order is
            part of the relationship (a hive filter on a raw zone's work order prunes) -#}
        (select * from {{ ref(relationship['to']) }}
         where {{ changed_batch_predicate(fields[columns.index(batch_column)]) }})
        {%- else -%}
        {{ ref(relationship['to']) }}
        {%- endif -%}
    {%- endset %}
    select
        '{{ "relationships(" ~ (child_list if columns | length == 1 else "(" ~ child_list ~ ")") ~ " -> " ~ relationship["to"] ~ "." ~ (field_list if fields | length == 1 else "(" ~ field_list ~ ")") ~ ")" }}' as check_name,
        count(*) as failing_rows,
        min(concat_ws(' | ', {% for column in columns %}cast(child.{{ column }} as varchar){{ ", " if not loop.last }}{% endfor %})) as example
    from {{ scoped }} as child
    left join {{ parent }} as parent
        on {% for column in columns %}parent.{{ fields[loop.index0] }} = child.{{ column }}{{ " and " if not loop.last }}{% endfor %}
    where {% for column in columns %}child.{{ column }} is not null and {% endfor %}parent.{{ fields[0] }} is null
    union all
    {% endfor -%}

    {% for entry in unique -%}
    {%- set key = entry['columns'] if entry is mapping else entry -%}
    {%- set key_where = entry['where'] if entry is mapping else none -%}
    {#- within_batch: checked among the changed work orders' rows alone (a key another
        check ties to its own batch, docs/warehouse.md) -#}
    {%- set within = (entry.get('within_batch', false) if entry is mapping else false) or batch_column in key -%}
    {%- set key_list = key | join(', ') -%}
    {%- set keyed_rows -%}
        {%- if not whole and within -%}
        {#- a key holding the work order: every row sharing it is in scope already -#}
        (select {{ key_list }} from {{ scoped }} as scoped
        {%- else %}
        (select {{ key_list }} from {{ model }}
        {%- endif %}
        where {% if key | length == 1 %}{{ key[0] }} is not null{% else %}1 = 1{% endif %}
        {%- if key_where %} and ({{ key_where }}){% endif %}
        {%- if not whole and not within %}
            and ({{ key_list }}) in (select {{ key_list }} from {{ scoped }} as scoped)
        {%- endif -%}
        )
    {%- endset %}
    select
        'unique({{ key_list }}){{ (" where " ~ key_where) | replace("'", "''") if key_where }}' as check_name,
        count(*) as failing_rows,
        min(concat_ws(' | ', {% for column in key %}cast({{ column }} as varchar){{ ", " if not loop.last }}{% endfor %})) as example
    from (
        select {{ key_list }}
        from {{ keyed_rows }} as keyed
        {% if whole -%}
        {#- exact: only the keys whose 64-bit hash occurs twice are grouped by value (in a
            scoped build the rows are few and reading them twice would cost more) -#}
        where hash({{ key_list }}) in (
            select hash({{ key_list }}) from {{ keyed_rows }} as keyed
            group by hash({{ key_list }})
            having count(*) > 1
        )
        {% endif -%}
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
