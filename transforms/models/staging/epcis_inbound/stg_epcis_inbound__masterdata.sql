-- One row per master-data attribute a partner file carried in its header.
{%- set masterdata = source('epcis_inbound', 'masterdata') %}
with

source as (

{%- if raw_files_exist('epcis_inbound/*/masterdata.parquet') %}

    select * from {{ masterdata }}

{%- else %}

    select
        cast(null as varchar) as file_id,
        cast(null as varchar) as vocabulary_type,
        cast(null as varchar) as element_id,
        cast(null as varchar) as attribute_id,
        cast(null as varchar) as value
    where false

{%- endif %}

),

renamed as (

    select
        file_id,
        vocabulary_type,
        element_id,
        attribute_id,
        value
    from source

)

select * from renamed
