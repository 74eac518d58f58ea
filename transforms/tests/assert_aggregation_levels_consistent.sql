-- Invariant: items go into cases (identified by GTIN + serial), cases into pallets
-- (identified by SSCC); nothing else.
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

aggregations as (

    select * from {{ ref('stg_line__aggregations') }}
    where {{ changed_batch_predicate('work_order_id') }}

)

select
    work_order_id,
    parent_sscc,
    parent_level,
    child_level,
    child_key

from aggregations
where not (
    (
        parent_level = 'case'
        and child_level = 'item'
        and child_gtin is not null
        and child_serial is not null
        and child_sscc is null
    )
    or (
        parent_level = 'pallet'
        and child_level = 'case'
        and child_sscc is not null
        and child_gtin is null
        and child_serial is null
    )
)
