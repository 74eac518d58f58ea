-- The status changes of serial_status_history that need replaying in order, one row
-- each, with their position in the serial's history: the case changes of reworked items
-- (items with more than one packing event: packed, taken out, packed again) and the
-- applied lifecycle events (decommissioning, batch close). A few thousand rows at ten
-- million units.
--
-- Every other change (allocation, print, the camera's verdict, the one packing of an
-- item packed once) follows from serial_lifecycle's columns row by row: the
-- serial_status_history view derives those and appends these rows.
{{ batch_incremental_config() }}
with

-- items with several packing events (rework); almost every item has one. (The
-- aggregation view is read twice, once for the keys alone and once for the events of
-- these few items: cheaper than holding all ten million events in between.)
reworked_items as (

    select child_key as unit_key
    from {{ ref('stg_line__aggregations') }}
    where child_level = 'item'
        and {{ batch_filter('work_order_id') }}
    group by child_key
    having count(*) > 1

),

applied_events as (

    select
        *,
        row_number() over (partition by unit_key order by event_order) as applied_no

    from {{ ref('int_lifecycle_events_replayed') }}
    where is_applied
        and {{ batch_filter('work_order_id') }}

),

units as (

    select
        units.unit_key,
        units.gtin,
        units.serial,
        units.work_order_id,
        units.outcome,
        units.case_sscc,
        work_orders.site_gln,
        -- changes the line made before any packing: allocation, print, verdict
        1 + case when units.seq is not null then 1 else 0 end
        + case when units.outcome in ('pass', 'fail') then 1 else 0 end as line_steps,
        reworked_items.unit_key is not null as is_reworked

    from {{ ref('int_serials_line_status') }} as units
    left join {{ ref('stg_masterdata__work_orders') }} as work_orders
        on units.work_order_id = work_orders.work_order_id
    left join reworked_items
        on units.unit_key = reworked_items.unit_key
    where {{ batch_filter('units.work_order_id') }}
        and (
            reworked_items.unit_key is not null
            or units.unit_key in (select unit_key from applied_events)
        )

),

-- how many cases hold a reworked item after each event. The latest event per (case,
-- item) decides that link, a DELETE at the same instant as an ADD winning the tie, as
-- in aggregation_hierarchy.
reworked_events as (

    select
        child_key as unit_key,
        parent_sscc,
        action,
        aggregated_at,
        case when action = 'DELETE' then 1 else 0 end as action_rank

    from {{ ref('stg_line__aggregations') }}
    where child_level = 'item'
        and {{ batch_filter('work_order_id') }}
        and child_key in (select unit_key from reworked_items)

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

-- every time a reworked item went from no case to a case, or back
reworked_changes as (

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

case_transitions as (

    select
        units.unit_key,
        units.gtin,
        units.serial,
        units.work_order_id,
        units.line_steps + reworked_changes.change_no as transition_seq,
        reworked_changes.from_status,
        reworked_changes.to_status,
        cast(null as varchar) as reason,
        reworked_changes.aggregated_at as occurred_at,
        'line' as origin,
        'case' as scope,
        reworked_changes.parent_sscc as scope_id,
        units.site_gln as location_gln,
        cast(null as varchar) as recorded_by,
        cast(null as varchar) as event_id,
        cast(null as varchar) as request_id,
        cast(null as timestamptz) as recorded_at

    from reworked_changes
    inner join units
        on reworked_changes.unit_key = units.unit_key
    where units.outcome = 'pass'

),

reworked_change_counts as (

    select
        unit_key,
        count(*) as changes

    from reworked_changes
    group by unit_key

),

lifecycle_transitions as (

    select
        units.unit_key,
        units.gtin,
        units.serial,
        units.work_order_id,
        -- before the events: the line's steps and the case changes (the replayed ones of
        -- a reworked item, else one when the item passed and was packed)
        units.line_steps
        + case
            when units.outcome <> 'pass' or units.outcome is null then 0
            when units.is_reworked then coalesce(reworked_change_counts.changes, 0)
            when units.case_sscc is not null then 1
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
    left join reworked_change_counts
        on applied_events.unit_key = reworked_change_counts.unit_key

),

final as (

    select * from case_transitions

    union all

    select * from lifecycle_transitions

)

select * from final
