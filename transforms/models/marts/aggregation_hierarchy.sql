-- One row per current parent-child link, with the pallet of every item resolved
-- through its case: `where pallet_sscc = X` lists what is inside pallet X,
-- `where child_key = Y` tells where item (or case) Y is.
--
-- The packing events are replayed here: the latest event per (parent, child) wins and
-- the link exists when that event is an ADD; a DELETE at the same instant as an ADD
-- wins the tie. Almost every child has one event (packed once, never touched): that
-- event decides alone, with no window. Only the children with several events (rework,
-- or a repeated ADD) are ranked, per (parent, child), like serial_status_history ranks
-- reworked items. One 10 M-row table instead of two (docs/benchmarks.md, "Session 5:
-- one aggregation table").
--
-- A pallet holds cases of its own work order (the line and line_bridge/rework.py pack
-- per work order), so the case-to-pallet links an item's pallet comes from are in the
-- same build as the item.
{{ batch_incremental_config() }}
{{ lookup_index_config('parent_sscc') }}
with

-- not materialized: each use below reads the view (the Parquet) again, which costs less
-- than DuckDB holding every event in memory for the three of them
aggregations as not materialized (

    select * from {{ ref('stg_line__aggregations') }}
    where {{ batch_filter('work_order_id') }}

),

children_with_several_events as (

    select child_key
    from aggregations
    group by child_key
    having count(*) > 1

),

-- a child with one event: that event is its latest
single_events as (

    select
        *,
        cast(1 as bigint) as recency_rank

    from aggregations
    where not exists (
        select 1
        from children_with_several_events as several
        where several.child_key = aggregations.child_key
    )

),

ranked as (

    select
        *,
        row_number() over (
            partition by parent_sscc, child_key
            order by aggregated_at desc, case when action = 'DELETE' then 0 else 1 end
        ) as recency_rank

    from aggregations
    where child_key in (select child_key from children_with_several_events)

),

-- the link exists when the latest event of (parent, child) is an ADD
links as (

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

    from (
        select * from single_events
        union all
        select * from ranked
    ) as latest
    where recency_rank = 1
        and action = 'ADD'

),

cases_on_pallets as (

    select
        child_sscc as case_sscc,
        parent_sscc as pallet_sscc

    from links
    where child_level = 'case'
        and parent_level = 'pallet'

),

resolved as (

    select
        links.child_key,
        links.parent_sscc,
        links.parent_level,
        links.child_level,
        links.child_gtin,
        links.child_serial,
        links.child_sscc,
        case
            when links.child_level = 'item' and links.parent_level = 'case' then links.parent_sscc
            when links.child_level = 'case' then links.child_sscc
        end as case_sscc,
        case
            when links.parent_level = 'pallet' then links.parent_sscc
            else cases_on_pallets.pallet_sscc
        end as pallet_sscc,
        links.work_order_id,
        links.line_id,
        links.aggregated_at,
        links.parent_full

    from links
    left join cases_on_pallets
        on links.child_level = 'item'
        and links.parent_sscc = cases_on_pallets.case_sscc

)

select * from resolved
