with

work_orders as (

    select * from {{ ref('stg_masterdata__work_orders') }}

),

lots as (

    select * from {{ ref('stg_masterdata__lots') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

locations as (

    select * from {{ ref('dim_locations') }}

),

final as (

    select
        work_orders.work_order_id,
        work_orders.gtin,
        work_orders.lot,
        work_orders.line_id,
        work_orders.planned_quantity,
        work_orders.case_size,
        work_orders.pallet_size,
        lots.expiry,
        lots.manufactured_on,
        lots.release_status,
        products.product_name,
        products.ndc,
        products.ndc11,
        products.company_prefix_length,
        products.company_prefix,
        products.item_reference,
        work_orders.site_gln,
        sites.location_name as site_name,
        sites.party_name as site_party_name,
        sites.country_code as site_country_code,
        work_orders.customer_gln,
        customers.location_name as customer_name,
        customers.party_name as customer_party_name,
        customers.country_code as customer_country_code,
        work_orders.loaded_at

    from work_orders
    left join lots
        on work_orders.gtin = lots.gtin
        and work_orders.lot = lots.lot
    left join products
        on work_orders.gtin = products.gtin
    left join locations as sites
        on work_orders.site_gln = sites.gln
    left join locations as customers
        on work_orders.customer_gln = customers.gln

)

select * from final
