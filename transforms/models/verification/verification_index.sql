-- One row per serial with what a verification answer needs: the identifier (GTIN,
-- serial, lot, expiry), where the serial stands, the release status of its lot and the
-- client (company) owning the product. Exported to the responder's lookup store.
-- A view: serial_lifecycle with two small dimensions joined, so a build does not copy
-- ten million rows that are read once per export; every row belongs to its serial's
-- work order (tests scoped to the changed batches, macros/test_scope.sql).
{{ config(materialized='view', meta={'batch_column': 'work_order_id'}) }}
with

lifecycle as (

    select * from {{ ref('serial_lifecycle') }}

),

work_orders as (

    select * from {{ ref('dim_work_orders') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

final as (

    select
        lifecycle.unit_key,
        lifecycle.gtin,
        lifecycle.serial,
        lifecycle.lot,
        lifecycle.expiry,
        lifecycle.status,
        lifecycle.status_reason,
        lifecycle.status_at,
        lower(work_orders.release_status) as lot_release_status,
        coalesce(lower(work_orders.release_status) = 'recalled', false)
            or coalesce(lifecycle.status_reason = 'recalled', false) as is_recalled,
        coalesce(lower(work_orders.release_status) not in ('released', 'recalled'), false)
            as is_lot_blocked,
        products.company_id,
        products.product_name,
        products.ndc,
        lifecycle.work_order_id

    from lifecycle
    left join work_orders
        on lifecycle.work_order_id = work_orders.work_order_id
    left join products
        on lifecycle.gtin = products.gtin

)

select * from final
