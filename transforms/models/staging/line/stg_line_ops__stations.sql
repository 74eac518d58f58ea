-- One row per station event (scan, closed, refused, diverted, labelled, label_failed).
{{ batch_view_config() }}
-- built after int_batch_fingerprints, which its scoped tests read
-- depends_on: {{ ref('int_batch_fingerprints') }}
{%- set station = source('line_ops', 'station') %}
with

source as (

{%- if raw_files_exist('line/station/*/*.parquet') %}

    select * from {{ station }}

{%- else %}

    select
        cast(null as varchar) as work_order,
        cast(null as varchar) as work_order_id,
        cast(null as varchar) as line_id,
        cast(null as varchar) as station_id,
        cast(null as varchar) as level,
        cast(null as bigint) as container,
        cast(null as varchar) as event,
        cast(null as varchar) as code,
        cast(null as bigint) as count,
        cast(null as varchar) as sscc,
        cast(null as varchar) as reason,
        cast(null as timestamptz) as recorded_at
    where false

{%- endif %}

),

renamed as (

    select
        -- the batch is the folder the row was written to (work_order=<WO>): a filter on it
        -- prunes the raw files; the row's own field must agree (batch_checks)
        work_order as work_order_id,
        work_order_id as recorded_work_order_id,
        line_id,
        station_id,
        lower(level) as container_level,
        container as station_container_no,
        lower(event) as station_event,
        code as scanned_code,
        count as station_child_count,
        sscc,
        case when sscc is not null then '(00)' || sscc end as container_key,
        reason,
        recorded_at

    from source

)

select * from renamed
