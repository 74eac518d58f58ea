-- Every shipment has exactly one licence check: none doubled by the as-of join (the mart
-- starts from every shipment with a left join, so none is lost by construction). One
-- parent only, on purpose: a partial build that selects the shipments but not this mart
-- (dbt's eager indirect selection) must not pick this test up. Returns the shipments broken.
select shipment_id, count(*) as checks
from {{ ref('shipment_licence_check') }}
group by shipment_id
having count(*) <> 1
