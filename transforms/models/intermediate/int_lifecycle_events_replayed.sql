-- One row per lifecycle event, replayed per serial on top of the status the line left
-- it in (int_serials_line_status), in the order occurred_at, recorded_at, event_id.
-- An event is applied when (status so far, to_status, reason) is a legal change of the
-- state machine (seed lifecycle_transitions, generated from serialtrace/lifecycle);
-- an illegal event, or one for a serial that was never allocated, is kept but not
-- applied (invariant assert_lifecycle_events_applied warns about it).
--
-- Incremental by batch: an event belongs to the work order of its serial (the writers,
-- serialtrace/lifecycle, take it from the serial), and a new event changes that work
-- order's fingerprint (int_batch_fingerprints), so only the changed work orders' events
-- are replayed again, on their serials' line status. An event naming a work order its
-- serial does not belong to finds no line status there: kept, not applied, and warned
-- about like any other event that was not applied, in a full build as in this one.
{{ batch_incremental_config() }}
with recursive

line as (

    select unit_key, work_order_id, status
    from {{ ref('int_serials_line_status') }}
    where {{ batch_filter('work_order_id') }}

),

events as (

    select
        *,
        row_number() over (
            partition by work_order_id, unit_key
            order by occurred_at, recorded_at, event_id
        ) as event_order

    from {{ ref('stg_lifecycle__events') }}
    where {{ batch_filter('work_order_id') }}

),

transitions as (

    select
        from_status,
        to_status,
        coalesce(reason, '') as reason

    from {{ ref('lifecycle_transitions') }}

),

replay as (

    select
        line.unit_key,
        line.work_order_id,
        cast(0 as bigint) as event_order,
        cast(null as varchar) as event_id,
        line.status as status_before,
        false as is_applied,
        line.status as status_after

    from line
    where (line.work_order_id, line.unit_key) in (select work_order_id, unit_key from events)

    union all

    select
        replay.unit_key,
        replay.work_order_id,
        events.event_order,
        events.event_id,
        replay.status_after as status_before,
        transitions.to_status is not null as is_applied,
        coalesce(transitions.to_status, replay.status_after) as status_after

    from replay
    inner join events
        on replay.unit_key = events.unit_key
        and replay.work_order_id = events.work_order_id
        and events.event_order = replay.event_order + 1
    left join transitions
        on replay.status_after = transitions.from_status
        and events.to_status = transitions.to_status
        and coalesce(events.reason, '') = transitions.reason

),

final as (

    select
        events.event_id,
        events.request_id,
        events.unit_key,
        events.gtin,
        events.serial,
        events.work_order_id,
        events.event_order,
        events.from_status,
        events.to_status,
        events.reason,
        events.scope,
        events.scope_id,
        events.location_gln,
        events.recorded_by,
        events.event_source,
        events.occurred_at,
        events.recorded_at,
        replay.status_before,
        coalesce(replay.is_applied, false) as is_applied,
        replay.status_after

    from events
    left join replay
        on events.event_id = replay.event_id

)

select * from final
