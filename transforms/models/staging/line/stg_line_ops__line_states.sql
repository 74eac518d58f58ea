-- One row per line state change, with how long the line stayed in the state it entered
-- (until the next change of the same work order; null for the last one).
{{ batch_view_config() }}
-- built after int_batch_fingerprints, which its scoped tests read
-- depends_on: {{ ref('int_batch_fingerprints') }}
{%- set line_state = source('line_ops', 'line_state') %}
with

source as (

{%- if raw_files_exist('line/line_state/*/*.parquet') %}

    select * from {{ line_state }}

{%- else %}

    select
        cast(null as varchar) as work_order,
        cast(null as varchar) as work_order_id,
        cast(null as varchar) as line_id,
        cast(null as varchar) as from_state,
        cast(null as varchar) as to_state,
        cast(null as varchar) as reason,
        cast(null as timestamptz) as changed_at
    where false

{%- endif %}

),

renamed as (

    select
        -- the batch is the folder the row was written to (work_order=<WO>): a filter on it
        -- prunes the raw files; the row's own field must agree (batch_checks)
        work_order as work_order_id,
        work_order_id as recorded_work_order_id,
        line_id,
        lower(from_state) as from_state,
        lower(to_state) as to_state,
        reason as transition_reason,
        changed_at,
        row_number() over (
            partition by work_order order by changed_at, from_state, to_state
        ) as transition_no

    from source

),

timed as (

    select
        *,
        lead(changed_at) over (partition by work_order_id order by transition_no)
            as state_ended_at

    from renamed

)

select
    *,
    extract(epoch from state_ended_at - changed_at) as seconds_in_state
from timed
