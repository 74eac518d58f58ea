-- One row per case inspected by the case camera (second inspection point), by SSCC.
{{ batch_view_config() }}
-- built after int_batch_fingerprints, which its scoped tests read
-- depends_on: {{ ref('int_batch_fingerprints') }}
{%- set case_inspect = source('line_ops', 'case_inspect') %}
with

source as (

{%- if raw_files_exist('line/case_inspect/*/*.parquet') %}

    select * from {{ case_inspect }}

{%- else %}

    select
        cast(null as varchar) as work_order,
        cast(null as varchar) as work_order_id,
        cast(null as varchar) as line_id,
        cast(null as varchar) as camera_id,
        cast(null as varchar) as sscc,
        cast(null as varchar) as decoded_payload,
        cast(null as varchar) as grade,
        cast(null as double) as grade_value,
        cast(null as boolean) as readable,
        cast(null as varchar) as outcome,
        cast(null as varchar) as cause,
        cast(null as timestamptz) as inspected_at,
        cast(null as bigint) as decision_latency_us
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
        camera_id as case_camera_id,
        sscc,
        '(00)' || sscc as container_key,
        decoded_payload,
        upper(grade) as grade,
        grade_value,
        readable as is_readable,
        lower(outcome) as case_inspection_outcome,
        lower(cause) as case_inspection_cause,
        inspected_at,
        decision_latency_us

    from source

)

select * from renamed
