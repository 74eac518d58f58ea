-- Invariant: every serial's history is one unbroken chain of legal changes of the state
-- machine (seed lifecycle_transitions), starting at its allocation and ending at its
-- current status in serial_lifecycle.
with

history as (

    select
        *,
        lag(to_status) over (partition by unit_key order by transition_seq) as previous_status,
        row_number() over (partition by unit_key order by transition_seq desc) as from_end

    from {{ ref('serial_status_history') }}

),

transitions as (

    select from_status, to_status, coalesce(reason, '') as reason
    from {{ ref('lifecycle_transitions') }}

),

serials as (

    select unit_key, status from {{ ref('serial_lifecycle') }}

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
    where history.from_end = 1
        and history.to_status <> serials.status

    union all

    select serials.unit_key, null, 'has no history'
    from serials
    where serials.unit_key not in (select unit_key from history)

)

select * from broken
