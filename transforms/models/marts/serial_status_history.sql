-- One row per status change of every allocated serial, in order: the allocation, what
-- the line did (printed, passed or rejected, packed into and taken out of cases) and
-- the lifecycle events recorded outside the line that were applied. Each row's
-- from_status is the previous row's to_status, and the last to_status is
-- serial_lifecycle.status (invariant assert_status_history_is_a_chain).
--
-- A view, not a table (forty million rows at ten million units would be written on
-- every full build): the allocation, the print, the camera's verdict and the one packing
-- of an item packed once follow from serial_lifecycle's columns row by row; the changes
-- that need replaying in order (case changes of reworked items, applied lifecycle
-- events) come from int_status_changes_replayed with their positions. A lookup of one
-- serial reads that serial's row of int_serials_line_status by its index on serial (and
-- its few replayed rows).
{{ config(materialized='view') }}
with

steps as (

    select step from (values (1), (2), (3), (4)) as steps (step)

),

-- items whose case changes were replayed (rework): their packing is not the one step 4
reworked as (

    select distinct unit_key
    from {{ ref('int_status_changes_replayed') }}
    where origin = 'line'

),

units as (

    select
        serials.unit_key,
        serials.gtin,
        serials.serial,
        serials.work_order_id,
        serials.line_id,
        serials.seq,
        serials.outcome,
        serials.reject_cause,
        serials.allocated_at,
        serials.printed_at,
        serials.inspected_at,
        serials.status_at as line_status_at,
        serials.case_sscc,
        work_orders.site_gln,
        reworked.unit_key is not null as is_reworked,
        -- changes the line made before any packing: allocation, print, verdict
        1 + case when serials.seq is not null then 1 else 0 end
        + case when serials.outcome in ('pass', 'fail') then 1 else 0 end as line_steps

    -- the line status under serial_lifecycle (the same rows; this view needs the line's
    -- columns alone, not the lifecycle events applied on top)
    from {{ ref('int_serials_line_status') }} as serials
    left join {{ ref('stg_masterdata__work_orders') }} as work_orders
        on serials.work_order_id = work_orders.work_order_id
    left join reworked
        on serials.unit_key = reworked.unit_key

),

-- 1 allocation, 2 print, 3 the camera's verdict, 4 the one packing of a passed item
-- packed once (it is in a case and was never reworked)
line_transitions as (

    select
        units.unit_key,
        units.gtin,
        units.serial,
        units.work_order_id,
        cast(
            case
                when steps.step = 3 then units.line_steps
                when steps.step = 4 then units.line_steps + 1
                else steps.step
            end as bigint
        ) as transition_seq,
        case steps.step
            when 1 then cast(null as varchar)
            when 2 then 'allocated'
            when 3 then 'printed'
            else 'commissioned'
        end as from_status,
        case
            when steps.step = 1 then 'allocated'
            when steps.step = 2 then 'printed'
            when steps.step = 4 then 'aggregated'
            when units.outcome = 'pass' then 'commissioned'
            else 'decommissioned'
        end as to_status,
        case
            when steps.step = 3 and units.outcome = 'fail'
                then 'rejected_at_line:' || coalesce(units.reject_cause, 'unknown')
        end as reason,
        case
            when steps.step = 1 then units.allocated_at
            when steps.step = 2 then units.printed_at
            when steps.step = 3 and units.outcome = 'pass' then units.inspected_at
            -- the rejection (step 3, failed) or the packing (step 4, the line status
            -- 'aggregated' is reached then)
            else units.line_status_at
        end as occurred_at,
        case when steps.step = 1 then 'allocation' else 'line' end as origin,
        case steps.step
            when 1 then 'work_order'
            when 4 then 'case'
            else 'line'
        end as scope,
        case steps.step
            when 1 then units.work_order_id
            when 4 then units.case_sscc
            else units.line_id
        end as scope_id,
        case when steps.step > 1 then units.site_gln end as location_gln,
        cast(null as varchar) as recorded_by,
        cast(null as varchar) as event_id,
        cast(null as varchar) as request_id,
        cast(null as timestamptz) as recorded_at

    from units
    cross join steps
    where steps.step = 1
        or (steps.step = 2 and units.seq is not null)
        or (steps.step = 3 and units.outcome in ('pass', 'fail'))
        or (
            steps.step = 4
            and units.outcome = 'pass'
            and units.case_sscc is not null
            and not units.is_reworked
        )

),

replayed_transitions as (

    select
        unit_key,
        gtin,
        serial,
        work_order_id,
        transition_seq,
        from_status,
        to_status,
        reason,
        occurred_at,
        origin,
        scope,
        scope_id,
        location_gln,
        recorded_by,
        event_id,
        request_id,
        recorded_at

    from {{ ref('int_status_changes_replayed') }}

),

final as (

    select * from line_transitions

    union all

    select * from replayed_transitions

)

select * from final
