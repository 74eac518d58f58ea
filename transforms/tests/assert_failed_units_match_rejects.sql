-- Invariant: every failed unit has a reject record with the camera's cause, and every
-- reject record belongs to a failed unit.
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

units as (

    select * from {{ ref('int_units_inspected') }}
    where {{ changed_batch_predicate('work_order_id') }}

),

rejects as (

    select * from {{ ref('stg_line__rejects') }}
    where {{ changed_batch_predicate('work_order_id') }}

)

select
    units.work_order_id,
    units.seq,
    'failed unit without a matching reject record' as problem

from units
where units.is_rejected
    and (
        not units.has_reject_record
        or (units.inspection_cause is not null and units.reject_cause <> units.inspection_cause)
    )

union all

select
    rejects.work_order_id,
    rejects.seq,
    'reject record of a unit that did not fail inspection' as problem

from rejects
left join units
    on rejects.work_order_id = units.work_order_id
    and rejects.seq = units.seq
where not coalesce(units.is_rejected, false)
