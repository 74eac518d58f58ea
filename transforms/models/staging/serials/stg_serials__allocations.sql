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
