-- One row per work order: the product and lot master data as they were when the batch
-- was packaged (versions valid at its first print), beside the lot's status today.
-- This is the as-of join of events to the master-data version valid at their time.
-- When and how much a work order printed comes from batch_quality (one row per work
-- order, incremental by batch), not from a scan of every print on every run.
with

quality as (

    select * from {{ ref('batch_quality') }}

),

work_orders as (

    select * from {{ ref('stg_masterdata__work_orders') }}

),

products as (

    select * from {{ ref('int_products_versioned') }}

),

lots as (

    select * from {{ ref('int_lots_versioned') }}

),

packaged as (

    select
        work_order_id,
        first_print_at as packaged_at,
        printed
    from quality
    where printed > 0

),

final as (

    select
        work_orders.work_order_id,
        work_orders.gtin,
        work_orders.lot,
        packaged.packaged_at,
        packaged.printed,
        products.version_number as product_version,
        products.product_name as product_name_at_packaging,
        products.ndc as ndc_at_packaging,
        lots.version_number as lot_version,
        lots.release_status as release_status_at_packaging,
        lots.expiry as expiry_at_packaging,
        current_lot.release_status as release_status_now,
        current_lot.valid_from as release_status_now_since

    from work_orders
    inner join packaged
        on work_orders.work_order_id = packaged.work_order_id
    left join products
        on work_orders.gtin = products.gtin
        and products.valid_from <= packaged.packaged_at
        and (products.valid_to is null or packaged.packaged_at < products.valid_to)
    left join lots
        on work_orders.gtin = lots.gtin
        and work_orders.lot = lots.lot
        and lots.valid_from <= packaged.packaged_at
        and (lots.valid_to is null or packaged.packaged_at < lots.valid_to)
    left join lots as current_lot
        on work_orders.gtin = current_lot.gtin
        and work_orders.lot = current_lot.lot
        and current_lot.is_current

)

select * from final
