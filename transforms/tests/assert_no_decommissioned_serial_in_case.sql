-- Invariant: a unit rejected at the line is never inside a case. (Product decommissioned
-- after the line, e.g. a destroyed pallet, stays where it was packed.)
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

serials as (

    select * from {{ ref('serial_lifecycle') }}
    where {{ changed_batch_predicate('work_order_id') }}

)

select
    unit_key,
    line_status_reason,
    case_sscc

from serials
where line_status = 'decommissioned'
    and case_sscc is not null
