-- Invariant: only printed units that passed inspection are packed (no unprinted,
-- uninspected or rejected serial, and no serial unknown to the line, inside a case).
with

hierarchy as (

    select * from {{ ref('aggregation_hierarchy') }}

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
