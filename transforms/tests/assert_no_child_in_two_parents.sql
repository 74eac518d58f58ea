-- Invariant: after applying ADD/DELETE in time order, no serial (or case) sits in two
-- parents at once. Returns every child with more than one current parent.
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

links as (

    select * from {{ ref('aggregation_hierarchy') }}
    {%- if batches_under_test() is not none %}
    -- incremental build: every link of the children that occur in a changed work
    -- order, wherever else they are
    where child_key in (
        select child_key
        from {{ ref('aggregation_hierarchy') }}
        where {{ changed_batch_predicate('work_order_id') }}
    )
    {%- endif %}

)

select
    child_key,
    count(*) as current_parents,
    min(parent_sscc) as first_parent_sscc,
    max(parent_sscc) as last_parent_sscc

from links
group by child_key
having count(*) > 1
