-- Invariant: every unit in a shipment has left the shipper's hands in the lifecycle: its
-- current status is shipped or a later one (received, dispensed), or decommissioned
-- after shipping (e.g. destroyed by the buyer) — never still commissioned/aggregated.
with

shipped_units as (

    select * from {{ ref('shipments') }}
    where identifier_level = 'item'

),

serials as (

    select * from {{ ref('serial_lifecycle') }}

)

select
    shipped_units.shipment_id,
    shipped_units.identifier_key,
    serials.status

from shipped_units
left join serials
    on serials.unit_key = shipped_units.identifier_key
where serials.status is null
    or serials.status not in ('shipped', 'received', 'dispensed', 'decommissioned')
