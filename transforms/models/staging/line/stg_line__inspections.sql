{{ batch_view_config() }}
-- built after int_batch_fingerprints, which the incremental models reading this view query
-- depends_on: {{ ref('int_batch_fingerprints') }}
with

source as (

    select * from {{ source('line', 'inspect') }}

),

renamed as (

    select
        -- the batch is the folder the row was written to (work_order=<WO>): a filter on it
        -- prunes the raw files; the row's own field must agree (batch_checks)
        work_order as work_order_id,
        work_order_id as recorded_work_order_id,
        line_id,
        seq,
        camera_id,
        gtin,
        expected_serial,
        decoded_payload,
        decoded_serial,
        upper(grade) as grade,
        grade_value,
        readable as is_readable,
        lower(outcome) as outcome,
        lower(cause) as inspection_cause,
        inspected_at,
        decision_latency_us

    from source

)

select * from renamed
