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
        {{ gs1_key_is_valid('gs1_key', length) }} as is_valid

    from keys

)

select gs1_key from checked where not is_valid

{% endtest %}
