-- One row per partner EPCIS file the inbound stage loaded (whole, never half).
{%- set files = source('epcis_inbound', 'files') %}
with

source as (

{%- if raw_files_exist('epcis_inbound/*/files.parquet') %}

    select * from {{ files }}

{%- else %}

    select
        cast(null as varchar) as file_id,
        cast(null as varchar) as file_name,
        cast(null as varchar) as sha256,
        cast(null as varchar) as format,
        cast(null as varchar) as schema_version,
        cast(null as varchar) as partner_id,
        cast(null as varchar) as policy,
        cast(null as varchar) as sender,
        cast(null as varchar) as receiver,
        cast(null as bigint) as events,
        cast(null as bigint) as deviations,
        cast(null as timestamptz) as loaded_at
    where false

{%- endif %}

),

renamed as (

    select
        file_id,
        file_name,
        sha256,
        format,
        schema_version,
        partner_id,
        policy,
        sender,
        receiver,
        events,
        deviations,
        loaded_at
    from source

)

select * from renamed
