{{ batch_incremental_config() }}
-- depends_on: {{ ref('int_batch_fingerprints') }}
with

source as (

    select * from {{ source('serials', 'allocations') }}
    -- incremental: only the changed work orders' files (hive partition pruning)
    where {{ batch_filter('work_order') }}

),

renamed as (

    select
        work_order_id,
        gtin,
        serial,
        lot,
        expiry,
        pool_id,
        allocated_at

    from source

)

select * from renamed
