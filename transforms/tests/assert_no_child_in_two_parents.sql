-- Invariant: after applying ADD/DELETE in time order, no serial (or case) sits in two
-- parents at once. Returns every child with more than one current parent.
with

links as (

    select * from {{ ref('int_aggregation_links_current') }}

)

select
    child_key,
    count(*) as current_parents,
    min(parent_sscc) as first_parent_sscc,
    max(parent_sscc) as last_parent_sscc

from links
group by child_key
having count(*) > 1
