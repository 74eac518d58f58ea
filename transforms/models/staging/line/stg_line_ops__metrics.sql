-- One row per metrics row of the line bridge (per second while running, per run at end).
{{ batch_view_config() }}
-- built after int_batch_fingerprints, which its scoped tests read
-- depends_on: {{ ref('int_batch_fingerprints') }}
{%- set metrics = source('line_ops', 'metrics') %}
with

source as (

{%- if raw_files_exist('line/metrics/*/*.parquet') %}

    select * from {{ metrics }}

{%- else %}

    select
        cast(null as varchar) as work_order,
        cast(null as varchar) as work_order_id,
        cast(null as varchar) as line_id,
        cast(null as timestamptz) as measured_at,
        cast(null as double) as window_s,
        cast(null as bigint) as printed,
        cast(null as bigint) as passed,
        cast(null as bigint) as rejected,
        cast(null as double) as units_per_minute,
        cast(null as double) as camera_pass_rate,
        cast(null as bigint) as decision_p99_us,
        cast(null as varchar) as rejects_by_cause,
        cast(null as varchar) as grade_counts,
        cast(null as bigint) as cases_closed,
        cast(null as bigint) as pallets_closed
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
        measured_at,
        window_s as window_seconds,
        printed as printed_total,
        passed as passed_total,
        rejected as rejected_total,
        units_per_minute as window_units_per_minute,
        camera_pass_rate,
        decision_p99_us as window_decision_p99_us,
        rejects_by_cause as rejects_by_cause_json,
        grade_counts as grade_counts_json,
        cases_closed as cases_closed_total,
        pallets_closed as pallets_closed_total

    from source

)

select * from renamed
