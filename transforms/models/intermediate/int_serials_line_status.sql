-- One row per allocated serial and where the line left it (lifecycle events recorded
-- outside the line are applied on top in serial_lifecycle).
-- Status precedence: not printed -> allocated; failed inspection -> decommissioned
-- (rejected_at_line:<cause>); passed and in a case -> aggregated; passed -> commissioned.
-- 'printed' (printed, no inspection outcome) cannot survive a passing build: the
-- invariant test assert_every_printed_unit_has_outcome fails first.
-- The table under the serial_lifecycle view: it carries the lookup index on serial that
-- the dashboards' serial lookups reach through the view.
{{ batch_incremental_config() }}
{{ lookup_index_config('serial') }}
with

allocations as (

    select * from {{ ref('stg_serials__allocations') }}
    where {{ batch_filter('work_order_id') }}

),

units as (

    select * from {{ ref('int_units_inspected') }}
    where {{ batch_filter('work_order_id') }}

),

item_links as (

    select * from {{ ref('aggregation_hierarchy') }}
    where child_level = 'item'
        and {{ batch_filter('work_order_id') }}

),

work_orders as (

    select * from {{ ref('stg_masterdata__work_orders') }}

),

joined as (

    select
        allocations.gtin,
        allocations.serial,
        allocations.lot,
        allocations.expiry,
        allocations.work_order_id,
        allocations.pool_id,
        allocations.allocated_at,
        coalesce(units.line_id, work_orders.line_id) as line_id,
        units.seq,
        units.printed_at,
        units.inspected_at,
        units.outcome,
        units.reject_cause,
        units.rejected_at,
        item_links.parent_sscc as case_sscc,
        item_links.pallet_sscc,
        item_links.aggregated_at

    from allocations
    left join units
        on allocations.gtin = units.gtin
        and allocations.serial = units.serial
    left join item_links
        on allocations.gtin = item_links.child_gtin
        and allocations.serial = item_links.child_serial
    left join work_orders
        on allocations.work_order_id = work_orders.work_order_id

),

statused as (

    select
        *,
        case
            when seq is null then 'allocated'
            when outcome = 'fail' then 'decommissioned'
            when outcome = 'pass' and case_sscc is not null then 'aggregated'
            when outcome = 'pass' then 'commissioned'
            else 'printed'
        end as status

    from joined

),

final as (

    select
        '(01)' || gtin || '(21)' || serial as unit_key,
        gtin,
        serial,
        lot,
        expiry,
        work_order_id,
        line_id,
        pool_id,
        seq,
        allocated_at,
        printed_at,
        inspected_at,
        outcome,
        reject_cause,
        status,
        case
            when status = 'decommissioned'
                then 'rejected_at_line:' || coalesce(reject_cause, 'unknown')
            when status = 'printed' then 'awaiting_inspection'
        end as status_reason,
        case_sscc,
        pallet_sscc,
        case status
            when 'allocated' then allocated_at
            when 'decommissioned' then rejected_at
            when 'aggregated' then aggregated_at
            when 'commissioned' then inspected_at
            else printed_at
        end as status_at

    from statused

)

select * from final
