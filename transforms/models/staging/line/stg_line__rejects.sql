{{ batch_view_config() }}
-- built after int_batch_fingerprints, which the incremental models reading this view query
-- depends_on: {{ ref('int_batch_fingerprints') }}
with

source as (

    select * from {{ source('line', 'reject') }}

),

renamed as (

    select
        -- the batch is the folder the row was written to (work_order=<WO>): a filter on it
        -- prunes the raw files; the row's own field must agree (batch_checks)
        work_order as work_order_id,
        work_order_id as recorded_work_order_id,
        line_id,
        seq,
        gate_id,
        gtin,
        serial,
        lower(cause) as reject_cause,
        commanded_at as reject_commanded_at,
        confirmed as is_reject_confirmed,
        confirmed_at as reject_confirmed_at

    from source

)

select * from renamed
