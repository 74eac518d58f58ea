-- One row per lifecycle event recorded outside the line (decommissioning, batch close).
-- With no file in the raw folder yet, an empty relation of the contract's columns
-- (serialtrace/lifecycle/schema.py) stands in for the source.
{%- set events = source('lifecycle', 'events') %}
with

source as (

{%- if raw_files_exist('lifecycle/events/*.parquet') %}

    select * from {{ events }}

{%- else %}

    select
        cast(null as varchar) as event_id,
        cast(null as varchar) as request_id,
        cast(null as varchar) as gtin,
        cast(null as varchar) as serial,
        cast(null as varchar) as work_order_id,
        cast(null as varchar) as from_status,
        cast(null as varchar) as to_status,
        cast(null as varchar) as reason,
        cast(null as varchar) as scope,
        cast(null as varchar) as scope_id,
        cast(null as varchar) as location_gln,
        cast(null as varchar) as recorded_by,
        cast(null as varchar) as source,
        cast(null as timestamptz) as occurred_at,
        cast(null as timestamptz) as recorded_at
    where false

{%- endif %}

),

renamed as (

    select
        event_id,
        request_id,
        '(01)' || gtin || '(21)' || serial as unit_key,
        gtin,
        serial,
        work_order_id,
        lower(from_status) as from_status,
        lower(to_status) as to_status,
        lower(reason) as reason,
        lower(scope) as scope,
        scope_id,
        location_gln,
        recorded_by,
        lower(source) as event_source,
        occurred_at,
        recorded_at

    from source

)

select * from renamed
