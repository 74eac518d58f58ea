{#
    Fails for every non-null value that is not a GS1 key of `length` digits with a
    correct mod-10 check digit (GTIN-14: 14, GLN: 13, SSCC: 18).
#}
{% test valid_gs1_key(model, column_name, length) %}

with

keys as (

    select {{ column_name }} as gs1_key
    from {{ model }}
    where {{ column_name }} is not null

),

checked as (

    select
        gs1_key,
        case
            when length(gs1_key) = {{ length }}
                and translate(gs1_key, '0123456789', '') = ''
                then (
                    10 - (
                        {% for position in range(1, length) -%}
                        cast(substr(gs1_key, {{ position }}, 1) as integer)
                            * {{ 3 if (length - position) % 2 == 1 else 1 }}
                        {%- if not loop.last %} + {% endif %}
                        {% endfor %}
                    ) % 10
                ) % 10 = cast(substr(gs1_key, {{ length }}, 1) as integer)
            else false
        end as is_valid

    from keys

)

select gs1_key from checked where not is_valid

{% endtest %}
