-- One row per case or pallet SSCC ever used as a parent on the line.
{{ batch_incremental_config() }}
with

aggregations as (

    select * from {{ ref('stg_line__aggregations') }}
    where {{ batch_filter('work_order_id') }}

),

links as (

    select * from {{ ref('aggregation_hierarchy') }}
    where {{ batch_filter('work_order_id') }}

),

work_orders as (

    select * from {{ ref('stg_masterdata__work_orders') }}

),

history as (

    select
        parent_sscc as sscc,
        min(parent_level) as level,
        min(work_order_id) as work_order_id,
        min(line_id) as line_id,
        min(case when action = 'ADD' then aggregated_at end) as commissioned_at,
        max(aggregated_at) as last_changed_at

    from aggregations
    group by parent_sscc

),

direct_children as (

    select
        parent_sscc as sscc,
        count(*) as child_count,
        count(case when child_level = 'item' then 1 end) as item_child_count,
        min(case when parent_full then 1 else 0 end) = 1 as all_links_full

    from links
    group by parent_sscc

),

case_parents as (

    select
        child_sscc as sscc,
        parent_sscc as pallet_sscc

    from links
    where child_level = 'case'

),

pallet_items as (

    select
        case_parents.pallet_sscc as sscc,
        cast(sum(direct_children.item_child_count) as bigint) as item_count

    from case_parents
    inner join direct_children
        on case_parents.sscc = direct_children.sscc
    group by case_parents.pallet_sscc

),

final as (

    select
        history.sscc,
        history.level,
        history.work_order_id,
        history.line_id,
        coalesce(direct_children.child_count, 0) as child_count,
        case
            when history.level = 'pallet' then coalesce(pallet_items.item_count, 0)
            else coalesce(direct_children.item_child_count, 0)
        end as item_count,
        case
            when history.level = 'pallet' then work_orders.pallet_size
            else work_orders.case_size
        end as capacity,
        coalesce(direct_children.all_links_full, false) as is_full,
        case_parents.pallet_sscc as parent_sscc,
        history.commissioned_at,
        history.last_changed_at

    from history
    left join direct_children
        on history.sscc = direct_children.sscc
    left join pallet_items
        on history.sscc = pallet_items.sscc
    left join case_parents
        on history.sscc = case_parents.sscc
    left join work_orders
        on history.work_order_id = work_orders.work_order_id

)

select * from final
