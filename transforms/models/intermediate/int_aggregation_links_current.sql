-- The parent of every child as of now: the latest event per (parent, child) wins;
-- the link exists if that event is an ADD. A DELETE at the same instant as an ADD
-- wins the tie (the link is not asserted).
{{ batch_incremental_config() }}
with

aggregations as (

    select * from {{ ref('stg_line__aggregations') }}
    where {{ batch_filter('work_order_id') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by parent_sscc, child_key
            order by aggregated_at desc, case when action = 'DELETE' then 0 else 1 end
        ) as recency_rank

    from aggregations

),

current_links as (

    select
        parent_sscc,
        child_key,
        parent_level,
        child_level,
        child_gtin,
        child_serial,
        child_sscc,
        work_order_id,
        line_id,
        aggregated_at,
        parent_full

    from ranked
    where recency_rank = 1
        and action = 'ADD'

)

select * from current_links
