{#-
    True when at least one file of the raw zone matches `relative_glob`
    (relative to SERIALTRACE_RAW_DIR). Checked when the model runs; while dbt only parses
    the project it answers true, so the source stays in the lineage either way.
-#}
{% macro raw_files_exist(relative_glob) %}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set pattern = env_var("SERIALTRACE_RAW_DIR") ~ "/" ~ relative_glob -%}
    {%- set found = run_query("select count(*) from glob('" ~ pattern | replace("'", "''") ~ "')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{% endmacro %}
