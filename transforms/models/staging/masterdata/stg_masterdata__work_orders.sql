-- Master-data files may hold several loads of the same record: keep the latest
-- (by loaded_at) per key. Otherwise rename/cast only.
with

source as (

    {{ source_with_defaults('masterdata', 'work_orders') }}

),

latest as (

    select
        *,
        row_number() over (partition by work_order_id order by loaded_at desc) as load_rank

    from source

),

renamed as (

    select
        work_order_id,
        gtin,
        lot,
        line_id,
        site_gln,
        customer_gln,
        planned_quantity,
        case_size,
        pallet_size,
        loaded_at

    from latest
    where load_rank = 1

)

select * from renamed
