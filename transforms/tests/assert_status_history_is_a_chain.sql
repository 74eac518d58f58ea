-- Invariant: every serial's history is one unbroken chain of legal changes of the state
-- machine (seed lifecycle_transitions), starting at its allocation and ending at its
-- current status in serial_lifecycle.
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

broken as (

    select unit_key, transition_seq, 'does not start where the previous change ended' as problem
    from history
    where from_status is distinct from previous_status

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

    select history.unit_key, history.transition_seq, 'does not end at the current status'
    from history
    inner join serials
        on history.unit_key = serials.unit_key
    where history.is_last
        and history.to_status <> serials.status

    union all

    select serials.unit_key, null, 'has no history'
    from serials
    where serials.unit_key not in (select unit_key from history)

)

select * from broken
