-- The verification index holds every serial of serial_lifecycle, once, with its status.
select lifecycle.unit_key
from {{ ref('serial_lifecycle') }} as lifecycle
full outer join {{ ref('verification_index') }} as idx
    on lifecycle.unit_key = idx.unit_key
where lifecycle.unit_key is null
    or idx.unit_key is null
    or lifecycle.status != idx.status
