-- One row per status change of every allocated serial, in order: the allocation, what
-- the line did (printed, passed or rejected, packed into and taken out of cases) and
-- the lifecycle events recorded outside the line that were applied
-- (int_lifecycle_events_replayed). Each row's from_status is the previous row's
-- to_status, and the last to_status is serial_lifecycle.status
-- (invariant assert_status_history_is_a_chain).
--
-- One pass per source, no window over the whole history: transition_seq is known from
-- the structure (1 allocation, then print, then the camera's verdict, then the case
-- changes, then the applied lifecycle events), so only the few items with more than one
-- packing event (rework) and the lifecycle events are ranked with a window.
{{ batch_incremental_config() }}
with

units as (

    select
        units.unit_key,
        units.gtin,
        units.serial,
        units.work_order_id,
        units.line_id,
        units.seq,
        units.outcome,
        units.reject_cause,
        units.allocated_at,
        units.printed_at,
        units.inspected_at,
        units.status_at,
        work_orders.site_gln,
        -- changes the line made before any packing: allocation, print, verdict
        1 + case when units.seq is not null then 1 else 0 end
        + case when units.outcome in ('pass', 'fail') then 1 else 0 end as line_steps

    from {{ ref('int_serials_line_status') }} as units
    left join {{ ref('stg_masterdata__work_orders') }} as work_orders
        on units.work_order_id = work_orders.work_order_id
    where {{ batch_filter('units.work_order_id') }}

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

-- almost every item is packed once and never touched again: that one event decides
events_per_item as (

    select
        unit_key,
        count(*) as events,
        any_value(parent_sscc) as parent_sscc,
        any_value(action) as action,
        any_value(aggregated_at) as aggregated_at

    from item_events
    group by unit_key

),

-- items with several packing events (rework): how many cases hold the item after each
-- event. The latest event per (case, item) decides that link, a DELETE at the same
-- instant as an ADD winning the tie, as in aggregation_hierarchy.
reworked_events as (

    select *
    from item_events
    where unit_key in (select unit_key from events_per_item where events > 1)

),

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

    from reworked_events

),

running as (

    select
        *,
        sum(delta) over (
            partition by unit_key
            order by aggregated_at, action_rank, parent_sscc
            rows between unbounded preceding and current row
        ) as cases_after

    from pair_deltas

),

reworked_flips as (

    select
        *,
        coalesce(
            lag(cases_after) over (
                partition by unit_key order by aggregated_at, action_rank, parent_sscc
            ),
            0
        ) as cases_before

    from running

),

-- every time an item went from no case to a case, or back
case_changes as (

    select
        unit_key,
        parent_sscc,
        aggregated_at,
        cast(1 as bigint) as change_no,
        'commissioned' as from_status,
        'aggregated' as to_status

    from events_per_item
    where events = 1
        and action = 'ADD'

    union all

    select
        unit_key,
        parent_sscc,
        aggregated_at,
        row_number() over (
            partition by unit_key order by aggregated_at, action_rank, parent_sscc
        ) as change_no,
        case when cases_after > 0 then 'commissioned' else 'aggregated' end as from_status,
        case when cases_after > 0 then 'aggregated' else 'commissioned' end as to_status

    from reworked_flips
    where (cases_before = 0) <> (cases_after = 0)

),

-- allocation, print and verdict in one pass over the units (up to three rows each)
line_steps as (

    select step from (values (1), (2), (3)) as steps (step)

),

line_transitions as (

    select
        units.unit_key,
        units.gtin,
        units.serial,
        units.work_order_id,
        cast(
            case
                when line_steps.step = 3 then units.line_steps
                else line_steps.step
            end as bigint
        ) as transition_seq,
        case line_steps.step
            when 1 then cast(null as varchar)
            when 2 then 'allocated'
            else 'printed'
        end as from_status,
        case
            when line_steps.step = 1 then 'allocated'
            when line_steps.step = 2 then 'printed'
            when units.outcome = 'pass' then 'commissioned'
            else 'decommissioned'
        end as to_status,
        case
            when line_steps.step = 3 and units.outcome = 'fail'
                then 'rejected_at_line:' || coalesce(units.reject_cause, 'unknown')
        end as reason,
        case
            when line_steps.step = 1 then units.allocated_at
            when line_steps.step = 2 then units.printed_at
            when units.outcome = 'pass' then units.inspected_at
            else units.status_at
        end as occurred_at,
        case when line_steps.step = 1 then 'allocation' else 'line' end as origin,
        case when line_steps.step = 1 then 'work_order' else 'line' end as scope,
        case when line_steps.step = 1 then units.work_order_id else units.line_id end
            as scope_id,
        case when line_steps.step > 1 then units.site_gln end as location_gln

    from units
    cross join line_steps
    where line_steps.step = 1
        or (line_steps.step = 2 and units.seq is not null)
        or (line_steps.step = 3 and units.outcome in ('pass', 'fail'))

),

case_transitions as (

    select
        units.unit_key,
        units.gtin,
        units.serial,
        units.work_order_id,
        units.line_steps + case_changes.change_no as transition_seq,
        case_changes.from_status,
        case_changes.to_status,
        cast(null as varchar) as reason,
        case_changes.aggregated_at as occurred_at,
        'line' as origin,
        'case' as scope,
        case_changes.parent_sscc as scope_id,
        units.site_gln as location_gln

    from case_changes
    inner join units
        on case_changes.unit_key = units.unit_key
    where units.outcome = 'pass'

),

applied_events as (

    select
        *,
        row_number() over (partition by unit_key order by event_order) as applied_no

    from {{ ref('int_lifecycle_events_replayed') }}
    where is_applied
        and {{ batch_filter('work_order_id') }}

),

case_changes_of_event_serials as (

    select
        unit_key,
        count(*) as changes

    from case_changes
    where unit_key in (select unit_key from applied_events)
    group by unit_key

),

lifecycle_transitions as (

    select
        units.unit_key,
        units.gtin,
        units.serial,
        units.work_order_id,
        units.line_steps
        + case
            when units.outcome = 'pass' then coalesce(case_changes_of_event_serials.changes, 0)
            else 0
        end
        + applied_events.applied_no as transition_seq,
        applied_events.status_before as from_status,
        applied_events.status_after as to_status,
        applied_events.reason,
        applied_events.occurred_at,
        applied_events.event_source as origin,
        applied_events.scope,
        applied_events.scope_id,
        applied_events.location_gln,
        applied_events.recorded_by,
        applied_events.event_id,
        applied_events.request_id,
        applied_events.recorded_at

    from applied_events
    inner join units
        on applied_events.unit_key = units.unit_key
    left join case_changes_of_event_serials
        on applied_events.unit_key = case_changes_of_event_serials.unit_key

),

final as (

    select
        *,
        cast(null as varchar) as recorded_by,
        cast(null as varchar) as event_id,
        cast(null as varchar) as request_id,
        cast(null as timestamptz) as recorded_at

    from line_transitions

    union all

    select
        *,
        cast(null as varchar) as recorded_by,
        cast(null as varchar) as event_id,
        cast(null as varchar) as request_id,
        cast(null as timestamptz) as recorded_at

    from case_transitions

    union all

    select * from lifecycle_transitions

)

select * from final
