-- Invariant: the line only prints serials allocated to the work order it prints.
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

units as (

    select * from {{ ref('int_units_inspected') }}
    where {{ changed_batch_predicate('work_order_id') }}

),

allocations as (

    select * from {{ ref('stg_serials__allocations') }}
    where {{ changed_batch_predicate('work_order_id') }}

)

select
    units.work_order_id,
    units.seq,
    units.unit_key

from units
left join allocations
    on units.gtin = allocations.gtin
    and units.serial = allocations.serial
    and units.work_order_id = allocations.work_order_id
where allocations.serial is null
