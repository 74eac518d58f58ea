-- Every shipment has exactly one licence check (none lost, none doubled by the as-of
-- join). Returns the shipments broken.
with

shipped as (

    select distinct shipment_id from {{ ref('stg_shipments__shipments') }}

),

checked as (

    select shipment_id, count(*) as checks
    from {{ ref('shipment_licence_check') }}
    group by shipment_id

)

select shipped.shipment_id, checked.checks
from shipped
full outer join checked
    on checked.shipment_id = shipped.shipment_id
where checked.checks is distinct from 1 or shipped.shipment_id is null
