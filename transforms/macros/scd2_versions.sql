{#-
    Type-2 versions of a master-data record from every load of it (a dbt snapshot's
    result, rebuilt from the raw zone, which keeps every load: a warehouse rebuilt
    from raw gives the same history).

    - rows from the demo configuration ('demo-config') yield to any connector's rows
      of the same key: once an ERP speaks for a record, it alone versions it;
    - loads are ordered by `changed_at` (the ERP's change time) then `loaded_at`;
    - a load whose `attributes` equal the previous version's is no new version;
    - each version is valid from its `changed_at` until the next version's (null: current).
-#}
{% macro scd2_versions(relation, keys, attributes) %}
{%- set key_list = keys | join(', ') %}
with

loads as (

    select * from {{ relation }}

),

owned as (

    select
        *,
        max(case when record_source <> 'demo-config' then 1 else 0 end)
            over (partition by {{ key_list }}) as has_connector_rows
    from loads

),

fingerprinted as (

    select
        *,
        md5(concat_ws('|'
        {%- for column in attributes %},
            coalesce(cast({{ column }} as varchar), '<null>')
        {%- endfor %}
        )) as version_hash
    from owned
    where record_source <> 'demo-config' or has_connector_rows = 0

),

compared as (

    select
        *,
        lag(version_hash) over (
            partition by {{ key_list }} order by changed_at, loaded_at
        ) as previous_hash
    from fingerprinted

),

versions as (

    select * exclude (previous_hash, has_connector_rows)
    from compared
    where previous_hash is null or previous_hash <> version_hash

),

final as (

    select
        *,
        row_number() over (partition by {{ key_list }} order by changed_at, loaded_at)
            as version_number,
        changed_at as valid_from,
        lead(changed_at) over (partition by {{ key_list }} order by changed_at, loaded_at)
            as valid_to
    from versions

)

select
    *,
    valid_to is null as is_current
from final
{% endmacro %}
