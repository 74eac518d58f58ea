-- One row per current parent-child link, with the pallet of every item resolved
-- through its case: `where pallet_sscc = X` lists what is inside pallet X,
-- `where child_key = Y` tells where item (or case) Y is.
{{ batch_incremental_config() }}
{{ lookup_index_config('parent_sscc') }}
with

links as (

    select * from {{ ref('int_aggregation_links_current') }}
    where {{ batch_filter('work_order_id') }}

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
