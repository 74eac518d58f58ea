-- Invariant (warning): every lifecycle event recorded outside the line was applied, i.e.
-- it named an allocated serial and was a legal change at its point in the replay. The
-- writers check this before writing, so a row here means a hand-made file, two writers
-- racing, or line data that changed after the event was recorded.
{{ config(severity = 'warn') }}

select
    event_id,
    unit_key,
    status_before,
    to_status,
    reason

from {{ ref('int_lifecycle_events_replayed') }}
where not is_applied
