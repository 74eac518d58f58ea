-- One row per EPC an event of a loaded partner file names (epcList, childEPCs, ...).
{%- set epcs = source('epcis_inbound', 'epcs') %}
with

source as (

{%- if raw_files_exist('epcis_inbound/*/epcs.parquet') %}

    select * from {{ epcs }}

{%- else %}

    select
        cast(null as varchar) as file_id,
        cast(null as bigint) as event_index,
        cast(null as varchar) as role,
        cast(null as varchar) as epc,
        cast(null as varchar) as epc_digital_link
    where false

{%- endif %}

),

renamed as (

    select
        file_id,
        event_index,
        file_id || ':' || cast(event_index as varchar) as event_key,
        role,
        epc,
        epc_digital_link
    from source

)

select * from renamed
