-- One row per event of a partner EPCIS file the inbound stage loaded.
{%- set events = source('epcis_inbound', 'events') %}
with

source as (

{%- if raw_files_exist('epcis_inbound/*/events.parquet') %}

    select * from {{ events }}

{%- else %}

    select
        cast(null as varchar) as file_id,
        cast(null as bigint) as event_index,
        cast(null as varchar) as event_type,
        cast(null as varchar) as event_hash,
        cast(null as varchar) as event_id,
        cast(null as varchar) as event_time,
        cast(null as varchar) as event_time_zone_offset,
        cast(null as varchar) as action,
        cast(null as varchar) as biz_step,
        cast(null as varchar) as disposition,
        cast(null as varchar) as read_point,
        cast(null as varchar) as biz_location,
        cast(null as varchar) as parent_id,
        cast(null as varchar) as lot,
        cast(null as varchar) as expiry,
        cast(null as bigint) as source_line
    where false

{%- endif %}

),

renamed as (

    select
        file_id,
        event_index,
        file_id || ':' || cast(event_index as varchar) as event_key,
        event_type,
        event_hash,
        event_id,
        event_time,
        try_cast(event_time as timestamptz) as event_at,
        event_time_zone_offset,
        action,
        biz_step,
        disposition,
        read_point,
        biz_location,
        parent_id,
        lot,
        expiry,
        source_line
    from source

)

select * from renamed
