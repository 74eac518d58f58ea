-- Invariant: per batch, every printed unit either passed or was rejected.
with

batches as (

    select * from {{ ref('batch_quality') }}

)

select
    work_order_id,
    printed,
    passed,
    rejected

from batches
where passed + rejected <> printed
