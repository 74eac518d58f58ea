-- Invariant: a unit rejected at the line is never inside a case.
with

serials as (

    select * from {{ ref('serial_lifecycle') }}

)

select
    unit_key,
    status_reason,
    case_sscc

from serials
where status = 'decommissioned'
    and case_sscc is not null
