-- One row per allocated serial and where it stands now: the status the line left it
-- in (int_serials_line_status), unless a lifecycle event recorded outside the line
-- (decommissioning, batch close) was applied since: then the latest applied event wins
-- and status_reason carries its reason.
--
-- A view, not a table: the line status is the table int_serials_line_status (ten
-- million rows at ten million units, with the lookup index on serial), and the
-- lifecycle events applied on top are a few thousand; a copy of the ten million rows
-- on every build would only repeat them. A filter on serial (or on the work order)
-- reaches int_serials_line_status's scan through the view.
{{ batch_view_config() }}
with

line as (

    select * from {{ ref('int_serials_line_status') }}

),

latest_event as (

    select
        *,
        row_number() over (partition by unit_key order by event_order desc) as recency_rank

    from {{ ref('int_lifecycle_events_replayed') }}
    where is_applied

),

final as (

    select
        line.unit_key,
        line.gtin,
        line.serial,
        line.lot,
        line.expiry,
        line.work_order_id,
        line.line_id,
        line.pool_id,
        line.seq,
        line.allocated_at,
        line.printed_at,
        line.inspected_at,
        line.outcome,
        line.reject_cause,
        coalesce(latest_event.to_status, line.status) as status,
        case
            when latest_event.event_id is not null then latest_event.reason
            else line.status_reason
        end as status_reason,
        line.case_sscc,
        line.pallet_sscc,
        coalesce(latest_event.occurred_at, line.status_at) as status_at,
        case when latest_event.event_id is null then 'line' else 'lifecycle' end
            as status_source,
        latest_event.event_id as status_event_id,
        latest_event.recorded_by as status_recorded_by,
        line.status as line_status,
        line.status_reason as line_status_reason,
        line.status_at as line_status_at

    from line
    left join latest_event
        on line.unit_key = latest_event.unit_key
        and latest_event.recency_rank = 1

)

select * from final
