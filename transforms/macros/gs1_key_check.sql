{#-
    A SQL boolean: `expression` is a GS1 key of `length` digits with a correct mod-10
    check digit (GTIN-14: 14, GLN: 13, SSCC: 18). Used by the valid_gs1_key and
    batch_checks tests.
-#}
{% macro gs1_key_is_valid(expression, length) -%}
    case
        when length({{ expression }}) = {{ length }}
            and translate({{ expression }}, '0123456789', '') = ''
            then (
                10 - (
                    {% for position in range(1, length) -%}
                    cast(substr({{ expression }}, {{ position }}, 1) as integer)
                        * {{ 3 if (length - position) % 2 == 1 else 1 }}
                    {%- if not loop.last %} + {% endif %}
                    {% endfor %}
                ) % 10
            ) % 10 = cast(substr({{ expression }}, {{ length }}, 1) as integer)
        else false
    end
{%- endmacro %}
