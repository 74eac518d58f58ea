{{ batch_view_config() }}
-- built after int_batch_fingerprints, which the incremental models reading this view query
-- depends_on: {{ ref('int_batch_fingerprints') }}
with

source as (

    select * from {{ source('serials', 'allocations') }}

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
