-- The verification index holds every serial of serial_lifecycle, once, with its status.
-- Compared per work order without joining the ten million rows: the number of rows and
-- the sum of hash(unit_key, status) over them must be equal on both sides (a serial
-- missing, extra or repeated changes the count, a status that differs changes the sum;
-- two different multisets with equal 64-bit hash sums are not a practical concern).
-- Together with the unique test of serial_lifecycle.unit_key this is also the
-- uniqueness check of verification_index.unit_key.
-- In an incremental build only the changed work orders are compared (macros/test_scope.sql).
with

lifecycle as (

    select work_order_id, count(*) as serials, sum(hash(unit_key, status)) as fingerprint
    from {{ ref('serial_lifecycle') }}
    where {{ changed_batch_predicate('work_order_id') }}
    group by work_order_id

),

idx as (

    select work_order_id, count(*) as serials, sum(hash(unit_key, status)) as fingerprint
    from {{ ref('verification_index') }}
    where {{ changed_batch_predicate('work_order_id') }}
    group by work_order_id

)

select
    coalesce(lifecycle.work_order_id, idx.work_order_id) as work_order_id,
    lifecycle.serials as serials_in_lifecycle,
    idx.serials as serials_in_index

from lifecycle
full outer join idx
    on lifecycle.work_order_id is not distinct from idx.work_order_id
where lifecycle.serials is distinct from idx.serials
    or lifecycle.fingerprint is distinct from idx.fingerprint
