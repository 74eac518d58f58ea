-- Invariant: only printed units that passed inspection are packed (no unprinted,
-- uninspected or rejected serial, and no serial unknown to the line, inside a case).
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

hierarchy as (

    select * from {{ ref('aggregation_hierarchy') }}
    where {{ changed_batch_predicate('work_order_id') }}

),

units as (

    select * from {{ ref('int_units_inspected') }}

)

select
    hierarchy.child_key,
    hierarchy.parent_sscc,
    units.outcome

from hierarchy
left join units
    on hierarchy.child_gtin = units.gtin
    and hierarchy.child_serial = units.serial
where hierarchy.child_level = 'item'
    and not coalesce(units.is_passed, false)
