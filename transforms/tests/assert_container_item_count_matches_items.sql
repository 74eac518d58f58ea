-- Invariant: the item_count of every case (and pallet) equals the number of items the
-- hierarchy places in it.
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

containers as (

    select * from {{ ref('containers') }}
    where {{ changed_batch_predicate('work_order_id') }}

),

hierarchy as (

    select * from {{ ref('aggregation_hierarchy') }}
    {%- if batches_under_test() is not none %}
    -- the items of the containers under test, whichever batch packed them
    where case_sscc in (select sscc from containers)
        or pallet_sscc in (select sscc from containers)
    {%- endif %}

),

items_per_case as (

    select
        case_sscc as sscc,
        count(*) as items

    from hierarchy
    where child_level = 'item'
    group by case_sscc

),

items_per_pallet as (

    select
        pallet_sscc as sscc,
        count(*) as items

    from hierarchy
    where child_level = 'item'
        and pallet_sscc is not null
    group by pallet_sscc

),

compared as (

    select
        containers.sscc,
        containers.level,
        containers.item_count,
        case
            when containers.level = 'case' then coalesce(items_per_case.items, 0)
            else coalesce(items_per_pallet.items, 0)
        end as items_in_hierarchy

    from containers
    left join items_per_case
        on containers.sscc = items_per_case.sscc
    left join items_per_pallet
        on containers.sscc = items_per_pallet.sscc

)

select * from compared
where item_count <> items_in_hierarchy
