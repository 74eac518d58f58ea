-- Invariant: the camera gave every printed unit a verdict ('pass' or 'fail'), for the
-- serial that was printed. Returns printed units without one.
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

units as (

    select * from {{ ref('int_units_inspected') }}
    where {{ changed_batch_predicate('work_order_id') }}

),

inspections as (

    select * from {{ ref('stg_line__inspections') }}
    where {{ changed_batch_predicate('work_order_id') }}

),

prints as (

    select * from {{ ref('stg_line__prints') }}
    where {{ changed_batch_predicate('work_order_id') }}

)

select
    units.work_order_id,
    units.seq,
    units.serial,
    'no inspection outcome' as problem

from units
where units.outcome is null
    or units.outcome not in ('pass', 'fail')

union all

select
    inspections.work_order_id,
    inspections.seq,
    inspections.expected_serial as serial,
    'inspection of a unit that was not printed as this serial' as problem

from inspections
left join prints
    on inspections.work_order_id = prints.work_order_id
    and inspections.seq = prints.seq
    and inspections.expected_serial = prints.serial
where prints.seq is null
