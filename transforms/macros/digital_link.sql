{#-
    Canonical GS1 Digital Link (on id.gs1.org) of our identifiers, as the EPCIS inbound
    stage writes `epc_digital_link` (epcis/canonical.py: values percent-encoded like
    Python's quote(value, safe="'")): the join key between partner EPCIS and our data.
-#}
{% macro dl_escape(value) -%}
    {%- set ns = namespace(sql="replace(" ~ value ~ ", '%', '%25')") -%}
    {%- for char, code in [('!', '%21'), ('"', '%22'), ('&', '%26'), ('(', '%28'),
                           (')', '%29'), ('*', '%2A'), ('+', '%2B'), (',', '%2C'),
                           ('/', '%2F'), (':', '%3A'), (';', '%3B'), ('<', '%3C'),
                           ('=', '%3D'), ('>', '%3E'), ('?', '%3F')] -%}
        {%- set ns.sql = "replace(" ~ ns.sql ~ ", '" ~ char ~ "', '" ~ code ~ "')" -%}
    {%- endfor -%}
    {{ ns.sql }}
{%- endmacro %}

{% macro sgtin_digital_link(gtin, serial) -%}
    'https://id.gs1.org/01/' || {{ gtin }} || '/21/' || {{ dl_escape(serial) }}
{%- endmacro %}

{% macro sscc_digital_link(sscc) -%}
    'https://id.gs1.org/00/' || {{ sscc }}
{%- endmacro %}
