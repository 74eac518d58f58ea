-- Invariant: every serial's history is one unbroken chain of legal changes of the state
-- machine (seed lifecycle_transitions), starting at its allocation and ending at its
-- current status in serial_lifecycle.
-- It also holds the key checks of serial_status_history, folded into its one sort of
-- the history (the separate generic tests each read the 40 M-row table again):
-- (unit_key, transition_seq) is unique (a position repeated is a row whose
-- transition_seq equals the previous row's), and every unit_key is a serial of
-- serial_lifecycle (the last change of each serial is joined with serial_lifecycle
-- anyway).
-- In an incremental build only the changed work orders are checked (macros/test_scope.sql).
with

history as (

    select
        unit_key,
        transition_seq,
        from_status,
        to_status,
        reason,
        lag(to_status) over serial_order as previous_status,
        lag(transition_seq) over serial_order as previous_seq,
        -- lag and lead over one window: one sort of the history
        lead(transition_seq) over serial_order is null as is_last

    from {{ ref('serial_status_history') }}
    where {{ changed_batch_predicate('work_order_id') }}
    window serial_order as (partition by unit_key order by transition_seq)

),

transitions as (

    select from_status, to_status, coalesce(reason, '') as reason
    from {{ ref('lifecycle_transitions') }}

),

serials as (

    select unit_key, status from {{ ref('serial_lifecycle') }}
    where {{ changed_batch_predicate('work_order_id') }}

),

last_changes as (

    select unit_key, transition_seq, to_status
    from history
    where is_last

),

broken as (

    select unit_key, transition_seq, 'does not start where the previous change ended' as problem
    from history
    where from_status is distinct from previous_status

    union all

    select unit_key, transition_seq, 'repeats the position of the previous change' as problem
    from history
    where transition_seq = previous_seq

    union all

    select history.unit_key, history.transition_seq, 'not a legal change' as problem
    from history
    left join transitions
        on history.from_status = transitions.from_status
        and history.to_status = transitions.to_status
        and coalesce(split_part(history.reason, ':', 1), '') = transitions.reason
    where history.from_status is not null
        and transitions.to_status is null

    union all

    -- one join of each serial's last change with serial_lifecycle: a history of a serial
    -- serial_lifecycle does not have, a serial without history, a history that does not
    -- end at the current status
    select
        coalesce(last_changes.unit_key, serials.unit_key),
        last_changes.transition_seq,
        case
            when serials.unit_key is null then 'is the history of a serial not in serial_lifecycle'
            when last_changes.unit_key is null then 'has no history'
            else 'does not end at the current status'
        end
    from last_changes
    full outer join serials
        on last_changes.unit_key = serials.unit_key
    where serials.unit_key is null
        or last_changes.unit_key is null
        or last_changes.to_status <> serials.status

)

select * from broken
