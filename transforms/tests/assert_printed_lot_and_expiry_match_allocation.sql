-- Invariant: lot and expiry are bound to a serial at allocation; the line prints exactly
-- those (expiry as YYMMDD).
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

prints as (

    select * from {{ ref('stg_line__prints') }}
    where {{ changed_batch_predicate('work_order_id') }}

),

allocations as (

    select * from {{ ref('stg_serials__allocations') }}

)

select
    prints.work_order_id,
    prints.seq,
    prints.serial,
    prints.lot as printed_lot,
    allocations.lot as allocated_lot,
    prints.printed_expiry,
    allocations.expiry as allocated_expiry

from prints
inner join allocations
    on prints.gtin = allocations.gtin
    and prints.serial = allocations.serial
where prints.lot <> allocations.lot
    or prints.printed_expiry <> strftime(allocations.expiry, '%y%m%d')
    or prints.work_order_id <> allocations.work_order_id
