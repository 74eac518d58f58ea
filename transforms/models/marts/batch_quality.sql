-- One row per work order: what the line did with its serials.
{{ batch_incremental_config() }}
with

work_orders as (

    select * from {{ ref('stg_masterdata__work_orders') }}
    where {{ batch_filter('work_order_id') }}

),

allocations as (

    select * from {{ ref('stg_serials__allocations') }}
    where {{ batch_filter('work_order_id') }}

),

units as (

    select * from {{ ref('int_units_inspected') }}
    where {{ batch_filter('work_order_id') }}

),

containers as (

    select * from {{ ref('containers') }}
    where {{ batch_filter('work_order_id') }}

),

allocated as (

    select
        work_order_id,
        count(*) as allocated

    from allocations
    group by work_order_id

),

line_figures as (

    select
        work_order_id,
        count(*) as printed,
        count(case when is_passed then 1 end) as passed,
        count(case when is_rejected then 1 end) as rejected,
        {% for cause in var('reject_causes') -%}
        count(case when is_rejected and reject_cause = '{{ cause }}' then 1 end) as {{ cause }},
        {% endfor -%}
        count(
            case when is_rejected and not coalesce(is_reject_confirmed, false) then 1 end
        ) as unconfirmed_rejects,
        {% for grade in var('print_grades') -%}
        count(case when grade = '{{ grade }}' then 1 end) as grade_{{ grade | lower }},
        {% endfor -%}
        count(case when outcome is not null and grade is null then 1 end) as ungraded,
        min(printed_at) as first_print_at,
        max(printed_at) as last_print_at

    from units
    group by work_order_id

),

packing as (

    select
        work_order_id,
        count(case when level = 'case' then 1 end) as cases,
        count(case when level = 'pallet' then 1 end) as pallets,
        count(case when level = 'case' and not is_full then 1 end) as partial_cases,
        count(case when level = 'pallet' and not is_full then 1 end) as partial_pallets

    from containers
    group by work_order_id

),

final as (

    select
        work_orders.work_order_id,
        work_orders.line_id,
        work_orders.gtin,
        work_orders.lot,
        work_orders.planned_quantity,
        coalesce(allocated.allocated, 0) as allocated,
        coalesce(line_figures.printed, 0) as printed,
        coalesce(line_figures.passed, 0) as passed,
        coalesce(line_figures.rejected, 0) as rejected,
        {% for cause in var('reject_causes') -%}
        coalesce(line_figures.{{ cause }}, 0) as {{ cause }},
        {% endfor -%}
        coalesce(line_figures.unconfirmed_rejects, 0) as unconfirmed_rejects,
        cast(line_figures.passed as double) / nullif(line_figures.printed, 0) as camera_pass_rate,
        cast(line_figures.rejected as double) / nullif(line_figures.printed, 0) as reject_rate,
        line_figures.first_print_at,
        line_figures.last_print_at,
        case
            when line_figures.printed > 1 and line_figures.last_print_at > line_figures.first_print_at
                then (line_figures.printed - 1) * 60000.0
                    / {{ dbt.datediff('line_figures.first_print_at', 'line_figures.last_print_at', 'millisecond') }}
        end as units_per_minute,
        coalesce(packing.cases, 0) as cases,
        coalesce(packing.pallets, 0) as pallets,
        coalesce(packing.partial_cases, 0) as partial_cases,
        coalesce(packing.partial_pallets, 0) as partial_pallets,
        {% for grade in var('print_grades') -%}
        coalesce(line_figures.grade_{{ grade | lower }}, 0) as grade_{{ grade | lower }},
        {% endfor -%}
        coalesce(line_figures.ungraded, 0) as ungraded

    from work_orders
    left join allocated
        on work_orders.work_order_id = allocated.work_order_id
    left join line_figures
        on work_orders.work_order_id = line_figures.work_order_id
    left join packing
        on work_orders.work_order_id = packing.work_order_id

)

select * from final
