-- Invariant: every serial's history is one unbroken chain of legal changes of the state
-- machine (seed lifecycle_transitions), starting at its allocation and ending at its
-- current status in serial_lifecycle; it also holds the column checks of the history
-- (not null, accepted values, one change per lifecycle event).
--
-- serial_status_history is a view: the line's steps of every serial (1 allocation,
-- 2 print, 3 the camera's verdict, 4 the one packing of an item packed once) follow from
-- the line status under serial_lifecycle row by row, at positions fixed by the view;
-- the changes that need
-- replaying in order (case changes of reworked items, lifecycle events) come from
-- int_status_changes_replayed. So the chain is checked without sorting forty million
-- rows:
-- 1. every change, row by row (one pass over the view): its columns, and a legal change;
--    (each part reads the view or serial_lifecycle itself: a CTE read by several parts
--    would be held whole in memory)
-- 2. the serials with replayed changes: their whole history in order (one window);
-- 3. every other serial: its history is the line's steps alone, so it is a chain when
--    those steps are (a verdict only after a print) and it ends at the current status
--    when serial_lifecycle.status is the last of them (row by row, serial_lifecycle).
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

transitions as (

    select from_status, to_status, coalesce(reason, '') as reason
    from {{ ref('lifecycle_transitions') }}

),

replayed_serials as (

    select distinct unit_key
    from {{ ref('int_status_changes_replayed') }}
    -- (no null: `not in` below would match nothing)
    where unit_key is not null
        and {{ changed_batch_predicate('work_order_id') }}

),

-- 1. every change on its own
row_problems as (

    select
        history.unit_key,
        history.transition_seq,
        case
            when history.unit_key is null then 'has no unit_key'
            when history.gtin is null then 'has no gtin'
            when history.serial is null then 'has no serial'
            when history.work_order_id is null then 'has no work_order_id'
            when history.transition_seq is null then 'has no transition_seq'
            when history.to_status is null then 'has no to_status'
            when history.origin is null then 'has no origin'
            when history.scope is null then 'has no scope'
            when history.to_status not in (
                'allocated', 'printed', 'commissioned', 'aggregated', 'shipped', 'received',
                'dispensed', 'decommissioned'
            ) then 'to_status is not a status'
            when history.origin not in ('allocation', 'line', 'cli', 'batch_close')
                then 'origin is not an origin'
            when history.from_status is null and history.transition_seq <> 1
                then 'starts a history after its first position'
            when history.from_status is not null and transitions.to_status is null
                then 'not a legal change'
        end as problem

    from {{ ref('serial_status_history') }} as history
    left join transitions
        on history.from_status = transitions.from_status
        and history.to_status = transitions.to_status
        and coalesce(split_part(history.reason, ':', 1), '') = transitions.reason
    where {{ changed_batch_predicate('history.work_order_id') }}

),

-- 2. the serials with replayed changes, in order
replayed_history as (

    select
        unit_key,
        transition_seq,
        from_status,
        lag(to_status) over serial_order as previous_status,
        lag(transition_seq) over serial_order as previous_seq,
        -- lag and lead over one window: one sort
        lead(transition_seq) over serial_order is null as is_last,
        to_status

    from {{ ref('serial_status_history') }}
    where {{ changed_batch_predicate('work_order_id') }}
        and unit_key in (select unit_key from replayed_serials)
    window serial_order as (partition by unit_key order by transition_seq)

),

replayed_problems as (

    select unit_key, transition_seq, 'does not start where the previous change ended' as problem
    from replayed_history
    where from_status is distinct from previous_status

    union all

    select unit_key, transition_seq, 'repeats the position of the previous change' as problem
    from replayed_history
    where transition_seq = previous_seq

    union all

    select
        replayed_history.unit_key,
        replayed_history.transition_seq,
        case
            when serials.unit_key is null then 'is the history of a serial not in serial_lifecycle'
            else 'does not end at the current status'
        end as problem
    from replayed_history
    left join {{ ref('serial_lifecycle') }} as serials
        on replayed_history.unit_key = serials.unit_key
    where replayed_history.is_last
        and (serials.unit_key is null or replayed_history.to_status <> serials.status)

),

-- 3. every other serial: the line's steps
line_problems as (

    select
        unit_key,
        cast(null as bigint) as transition_seq,
        case
            when seq is null and outcome is not null
                then 'has a verdict of the camera but was never printed'
            else 'does not end at the current status'
        end as problem

    from {{ ref('serial_lifecycle') }}
    where {{ changed_batch_predicate('work_order_id') }}
        and unit_key not in (select unit_key from replayed_serials)
        and (
            (seq is null and outcome is not null)
            or status <> case
                when seq is null then 'allocated'
                when outcome = 'pass' and case_sscc is not null then 'aggregated'
                when outcome = 'pass' then 'commissioned'
                when outcome = 'fail' then 'decommissioned'
                else 'printed'
            end
        )

),

-- one change per lifecycle event
repeated_events as (

    select
        min(unit_key) as unit_key,
        min(transition_seq) as transition_seq,
        'is one of several changes of lifecycle event ' || event_id as problem

    from {{ ref('serial_status_history') }}
    where {{ changed_batch_predicate('work_order_id') }}
        and event_id is not null
    group by event_id
    having count(*) > 1

)

select * from row_problems where problem is not null
union all
select * from replayed_problems
union all
select * from line_problems
union all
select * from repeated_events
