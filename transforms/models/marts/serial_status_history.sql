-- One row per status change of every allocated serial, in order: the allocation, what
-- the line did (printed, passed or rejected, packed into and taken out of cases) and
-- the lifecycle events recorded outside the line that were applied
-- (int_lifecycle_events_replayed). Each row's from_status is the previous row's
-- to_status, and the last to_status is serial_lifecycle.status
-- (invariant assert_status_history_is_a_chain).
{{ batch_incremental_config() }}
with

units as (

    select * from {{ ref('int_serials_line_status') }}
    where {{ batch_filter('work_order_id') }}

),

work_orders as (

    select work_order_id, site_gln from {{ ref('stg_masterdata__work_orders') }}

),

item_events as (

    select
        child_key as unit_key,
        parent_sscc,
        action,
        aggregated_at,
        case when action = 'DELETE' then 1 else 0 end as action_rank

    from {{ ref('stg_line__aggregations') }}
    where child_level = 'item'
        and {{ batch_filter('work_order_id') }}

),

-- how many cases hold the item after each of its events: the latest event per
-- (case, item) decides that link, a DELETE at the same instant as an ADD winning the
-- tie, as in int_aggregation_links_current
pair_deltas as (

    select
        *,
        case when action = 'ADD' then 1 else 0 end
        - case
            when lag(action) over (
                partition by unit_key, parent_sscc order by aggregated_at, action_rank
            ) = 'ADD' then 1
            else 0
        end as delta

    from item_events

),

running as (

    select
        *,
        sum(delta) over (
            partition by unit_key
            order by aggregated_at, action_rank, parent_sscc
            rows between unbounded preceding and current row
        ) as cases_after,
        row_number() over (
            partition by unit_key order by aggregated_at, action_rank, parent_sscc
        ) as event_order

    from pair_deltas

),

flips as (

    select
        *,
        coalesce(
            lag(cases_after) over (partition by unit_key order by event_order), 0
        ) as cases_before

    from running

),

line_transitions as (

    select
        unit_key,
        cast(null as varchar) as from_status,
        'allocated' as to_status,
        cast(null as varchar) as reason,
        allocated_at as occurred_at,
        'allocation' as origin,
        'work_order' as scope,
        work_order_id as scope_id,
        cast(null as varchar) as location_gln,
        cast(null as varchar) as recorded_by,
        cast(null as varchar) as event_id,
        cast(null as varchar) as request_id,
        cast(null as timestamptz) as recorded_at,
        0 as step_rank,
        cast(0 as bigint) as step_order

    from units

    union all

    select
        units.unit_key,
        'allocated',
        'printed',
        null,
        units.printed_at,
        'line',
        'line',
        units.line_id,
        work_orders.site_gln,
        null,
        null,
        null,
        null,
        1,
        0

    from units
    left join work_orders
        on units.work_order_id = work_orders.work_order_id
    where units.seq is not null

    union all

    select
        units.unit_key,
        'printed',
        case when units.outcome = 'pass' then 'commissioned' else 'decommissioned' end,
        case
            when units.outcome = 'fail'
                then 'rejected_at_line:' || coalesce(units.reject_cause, 'unknown')
        end,
        case when units.outcome = 'pass' then units.inspected_at else units.status_at end,
        'line',
        'line',
        units.line_id,
        work_orders.site_gln,
        null,
        null,
        null,
        null,
        2,
        0

    from units
    left join work_orders
        on units.work_order_id = work_orders.work_order_id
    where units.outcome in ('pass', 'fail')

    union all

    select
        units.unit_key,
        case when flips.cases_after > 0 then 'commissioned' else 'aggregated' end,
        case when flips.cases_after > 0 then 'aggregated' else 'commissioned' end,
        null,
        flips.aggregated_at,
        'line',
        'case',
        flips.parent_sscc,
        work_orders.site_gln,
        null,
        null,
        null,
        null,
        3,
        flips.event_order

    from flips
    inner join units
        on flips.unit_key = units.unit_key
    left join work_orders
        on units.work_order_id = work_orders.work_order_id
    where units.outcome = 'pass'
        and (flips.cases_before = 0) <> (flips.cases_after = 0)

),

lifecycle_transitions as (

    select
        unit_key,
        status_before as from_status,
        status_after as to_status,
        reason,
        occurred_at,
        event_source as origin,
        scope,
        scope_id,
        location_gln,
        recorded_by,
        event_id,
        request_id,
        recorded_at,
        4 as step_rank,
        event_order as step_order

    from {{ ref('int_lifecycle_events_replayed') }}
    where is_applied
        and {{ batch_filter('work_order_id') }}

),

transitions as (

    select * from line_transitions
    union all
    select * from lifecycle_transitions

),

final as (

    select
        units.unit_key,
        units.gtin,
        units.serial,
        units.work_order_id,
        row_number() over (
            partition by transitions.unit_key
            order by transitions.step_rank, transitions.step_order, transitions.occurred_at
        ) as transition_seq,
        transitions.from_status,
        transitions.to_status,
        transitions.reason,
        transitions.occurred_at,
        transitions.origin,
        transitions.scope,
        transitions.scope_id,
        transitions.location_gln,
        transitions.recorded_by,
        transitions.event_id,
        transitions.request_id,
        transitions.recorded_at

    from transitions
    inner join units
        on transitions.unit_key = units.unit_key

)

select * from final
