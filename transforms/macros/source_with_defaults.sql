{#-
    A raw master-data table with the nullable columns of its contract defaulted to null
    when no file has them (files written under an older contract, e.g. before the ERP
    provenance or the SNOMED CT / proprietary code columns existed).

    The source is read as before (read_parquet with union_by_name: a column some files
    have is null in the others) and unioned BY NAME with an empty relation of the
    contract's nullable columns (macro raw_contract_defaults, generated from
    ingest/schemas.py): DuckDB fills a column one side lacks with null. Required columns
    get no default, so a file without one still fails the build naming the column.
-#}
{% macro source_with_defaults(source_name, table_name) %}
    {%- set defaults = raw_contract_defaults(source_name, table_name) -%}
    select * from {{ source(source_name, table_name) }}
    union all by name
    select
        {%- for column, data_type in defaults.items() %}
        cast(null as {{ data_type }}) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    where false
{%- endmacro %}
