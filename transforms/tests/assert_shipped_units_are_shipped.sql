-- Invariant: every unit in a shipment has left the shipper's hands in the lifecycle: its
-- current status is shipped or a later one (received, dispensed), or decommissioned
-- after shipping (e.g. destroyed by the buyer) — never still commissioned/aggregated,
-- and never a serial decommissioned before it was despatched (no shipped serial that
-- was decommissioned: the shipping event of such a unit is refused by the state
-- machine, so its status stays decommissioned, from before the despatch).
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
    serials.status,
    serials.status_at,
    shipped_units.despatched_at

from shipped_units
left join serials
    on serials.unit_key = shipped_units.identifier_key
where serials.status is null
    or serials.status not in ('shipped', 'received', 'dispensed', 'decommissioned')
    or (serials.status = 'decommissioned' and serials.status_at <= shipped_units.despatched_at)
