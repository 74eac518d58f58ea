-- What left, to whom, with its hierarchy: one row per identifier shipped — the top-level
-- container itself, every case on a shipped pallet, every unit in a shipped case — with
-- the shipment's parties and business documents. `where sscc = ?` or
-- `where child_serial = ?` answers "where did it go".
with

shipments as (

    select * from {{ ref('stg_shipments__shipments') }}

),

hierarchy as (

    select * from {{ ref('aggregation_hierarchy') }}

),

top_level as (

    select
        shipments.shipment_id,
        shipments.sscc as shipped_sscc,
        shipments.level as shipped_level,
        shipments.level as identifier_level,
        '(00)' || shipments.sscc as identifier_key,
        cast(null as varchar) as gtin,
        cast(null as varchar) as serial,
        shipments.sscc,
        cast(null as varchar) as parent_sscc

    from shipments

),

contents as (

    select
        shipments.shipment_id,
        shipments.sscc as shipped_sscc,
        shipments.level as shipped_level,
        hierarchy.child_level as identifier_level,
        hierarchy.child_key as identifier_key,
        hierarchy.child_gtin as gtin,
        hierarchy.child_serial as serial,
        hierarchy.child_sscc as sscc,
        hierarchy.parent_sscc

    from shipments
    inner join hierarchy
        on hierarchy.work_order_id = shipments.work_order_id
        and (
            (shipments.level = 'pallet' and hierarchy.pallet_sscc = shipments.sscc)
            or (shipments.level = 'case' and hierarchy.case_sscc = shipments.sscc)
        )

),

unioned as (

    select * from top_level
    union all
    select * from contents

),

final as (

    select
        unioned.shipment_id,
        unioned.identifier_key,
        unioned.identifier_level,
        unioned.gtin,
        unioned.serial,
        unioned.sscc,
        unioned.parent_sscc,
        unioned.shipped_sscc,
        unioned.shipped_level,
        shipments.work_order_id,
        shipments.despatched_at,
        shipments.po_number,
        shipments.despatch_advice,
        shipments.source_party_gln,
        shipments.source_location_gln,
        shipments.destination_party_gln,
        shipments.destination_location_gln

    from unioned
    inner join shipments
        on shipments.shipment_id = unioned.shipment_id
        and shipments.sscc = unioned.shipped_sscc

)

select * from final
