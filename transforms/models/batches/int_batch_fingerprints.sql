-- One row per work order known to the raw zone or to the last build, with a fingerprint of
-- everything the batch-incremental models read for it, and whether that changed since the
-- last successful build (batch_build_log): new or rewritten line-stream or allocation
-- files, new lifecycle events (e.g. a decommissioning of an old batch), a reloaded
-- work-order record, or a batch that disappeared. Without a log (first build) or with
-- --full-refresh, every work order counts as changed.
-- Once committed, this build's batch scope may be read once and kept (batch_scope(),
-- macros/incremental_batches.sql).
{{ config(post_hook=after_commit("{{ remember_batch_scope() }}")) }}
{%- set log = adapter.get_relation(database=this.database, schema=this.schema, identifier='batch_build_log') %}
{%- set raw = env_var('SERIALTRACE_RAW_DIR') | replace("'", "''") %}
with

raw_files as (

    -- file metadata only: read_blob does not read a file whose content is not selected
    select
        regexp_extract(filename, 'work_order=([^/]+)/', 1) as work_order_id,
        regexp_extract(filename, '(line|serials)/[^/]+/work_order=.*$', 0) as relative_path,
        size,
        last_modified

    from read_blob([
        '{{ raw }}/line/*/work_order=*/*.parquet',
        '{{ raw }}/serials/allocations/work_order=*/*.parquet'
    ])

),

files as (

    select
        work_order_id,
        md5(string_agg(
            relative_path || ':' || cast(size as varchar) || ':' || cast(last_modified as varchar),
            ',' order by relative_path
        )) as files_fingerprint

    from raw_files
    group by work_order_id

),

events as (

    select
        work_order_id,
        md5(string_agg(event_id, ',' order by event_id)) as events_fingerprint

    from {{ ref('stg_lifecycle__events') }}
    group by work_order_id

),

work_orders as (

    select
        work_order_id,
        md5(concat_ws(
            '|', gtin, lot, line_id, site_gln, customer_gln, cast(planned_quantity as varchar),
            cast(case_size as varchar), cast(pallet_size as varchar), cast(loaded_at as varchar)
        )) as work_order_fingerprint

    from {{ ref('stg_masterdata__work_orders') }}

),

batch_ids as (

    select work_order_id from files
    union
    select work_order_id from events
    union
    select work_order_id from work_orders

),

current_batches as (

    select
        batch_ids.work_order_id,
        md5(
            coalesce(files.files_fingerprint, '-') || '#'
            || coalesce(events.events_fingerprint, '-') || '#'
            || coalesce(work_orders.work_order_fingerprint, '-')
        ) as fingerprint

    from batch_ids
    left join files on batch_ids.work_order_id = files.work_order_id
    left join events on batch_ids.work_order_id = events.work_order_id
    left join work_orders on batch_ids.work_order_id = work_orders.work_order_id

),

{%- if log is not none and not flags.FULL_REFRESH %}

compared as (

    select
        coalesce(current_batches.work_order_id, built.work_order_id) as work_order_id,
        current_batches.fingerprint,
        built.fingerprint as built_fingerprint,
        current_batches.fingerprint is distinct from built.fingerprint as is_changed

    from current_batches
    full outer join {{ log }} as built
        on current_batches.work_order_id = built.work_order_id

)

{%- else %}

compared as (

    select
        work_order_id,
        fingerprint,
        cast(null as varchar) as built_fingerprint,
        true as is_changed

    from current_batches

)

{%- endif %}

select * from compared
