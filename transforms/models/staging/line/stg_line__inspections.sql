{{ batch_incremental_config() }}
-- depends_on: {{ ref('int_batch_fingerprints') }}
with

source as (

    select * from {{ source('line', 'inspect') }}
    -- incremental: only the changed work orders' files (hive partition pruning)
    where {{ batch_filter('work_order') }}

),

renamed as (

    select
        work_order_id,
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
