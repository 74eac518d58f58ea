{{ config(materialized='view') }}
-- Everything shipped to a trading partner, for auditors: one row per identifier shipped
-- (container or unit) with the shipment, business documents, the partner's name and the
-- product's lot and expiry. Query it with `where partner_gln = ?`.
-- Relations are named without the database so the file can be copied or renamed.
{%- set shipped = ref('shipments').include(database=false) %}
{%- set locations = ref('dim_locations').include(database=false) %}
{%- set work_orders = ref('dim_work_orders').include(database=false) %}
with

final as (

    select
        shipped.destination_party_gln as partner_gln,
        partner.party_name as partner_name,
        shipped.destination_location_gln as ship_to_gln,
        shipped.shipment_id,
        shipped.despatched_at,
        shipped.po_number,
        shipped.despatch_advice,
        shipped.identifier_key,
        shipped.identifier_level,
        shipped.gtin,
        shipped.serial,
        shipped.sscc,
        shipped.shipped_sscc,
        shipped.work_order_id,
        work_orders.lot,
        work_orders.expiry

    from {{ shipped }} as shipped
    left join {{ locations }} as partner
        on partner.gln = shipped.destination_party_gln
    left join {{ work_orders }} as work_orders
        on work_orders.work_order_id = shipped.work_order_id

)

select * from final
