-- Invariant: a unit rejected at the line is never inside a case. (Product decommissioned
-- after the line, e.g. a destroyed pallet, stays where it was packed.)
with

serials as (

    select * from {{ ref('serial_lifecycle') }}

)

select
    unit_key,
    line_status_reason,
    case_sscc

from serials
where line_status = 'decommissioned'
    and case_sscc is not null
