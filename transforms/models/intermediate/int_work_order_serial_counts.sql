-- One row per work order with serials: how many of its serials reached each stage at the
-- line and where they stand now (serial_lifecycle), the counts erp_reconciliation holds
-- against the ERP. Incremental by batch: a new batch, or a lifecycle event of an old
-- one (its fingerprint changes, int_batch_fingerprints), recounts that work order only;
-- counting the ten million serials again on every run cost most of a data-triggered
-- build's last second.
{{ batch_incremental_config() }}
with

serials as (

    select
        work_order_id,
        printed_at,
        line_status,
        status,
        coalesce(status_reason, '') = 'unused_at_batch_close' as reason_is_unused

    from {{ ref('serial_lifecycle') }}
    where {{ batch_filter('work_order_id') }}

),

counts as (

    select
        work_order_id,
        count(*) as allocated,
        count(case when printed_at is not null then 1 end) as printed,
        count(case when line_status in ('commissioned', 'aggregated') then 1 end)
            as commissioned_at_line,
        count(case when line_status = 'decommissioned' then 1 end) as rejected_at_line,
        count(case when status = 'decommissioned' and reason_is_unused then 1 end)
            as unused_at_batch_close,
        count(case when status = 'decommissioned' then 1 end) as decommissioned,
        count(case when status in ('commissioned', 'aggregated') then 1 end) as active,
        count(case when status in ('shipped', 'received', 'dispensed') then 1 end) as shipped

    from serials
    group by work_order_id

)

select * from counts
