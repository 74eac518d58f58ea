{#
    Fails with one row per listed column that holds a null, with the number of such rows:
    dbt's not_null for several columns of one model in one scan and one test (a dbt test
    costs a node of its own, ~40 ms of dbt before any SQL, and a pass over the table).
#}
{% test not_null_columns(model, columns) %}

with

counted as (

    select
        {% for column in columns -%}
        count(*) filter (where {{ column }} is null) as {{ column }}{{ "," if not loop.last }}
        {% endfor %}
    from {{ model }}

),

per_column as (

    unpivot counted
    on {{ columns | join(', ') }}
    into name column_name value null_rows

)

select column_name, null_rows
from per_column
where null_rows > 0

{% endtest %}
