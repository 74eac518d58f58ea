{{ batch_incremental_config() }}
-- depends_on: {{ ref('int_batch_fingerprints') }}
with

source as (

    select * from {{ source('line', 'reject') }}
    -- incremental: only the changed work orders' files (hive partition pruning)
    where {{ batch_filter('work_order') }}

),

renamed as (

    select
        work_order_id,
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
