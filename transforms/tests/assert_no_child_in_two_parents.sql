-- Invariant: after applying ADD/DELETE in time order, no serial (or case) sits in two
-- parents at once. Returns every child with more than one current parent.
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

links as (

    select * from {{ ref('int_aggregation_links_current') }}

),

-- incremental build: the children of the changed work orders, wherever else they are
children_under_test as (

    select child_key
    from links
    where {{ changed_batch_predicate('work_order_id') }}

)

select
    child_key,
    count(*) as current_parents,
    min(parent_sscc) as first_parent_sscc,
    max(parent_sscc) as last_parent_sscc

from links
where child_key in (select child_key from children_under_test)
group by child_key
having count(*) > 1
