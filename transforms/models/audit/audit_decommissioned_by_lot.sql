{{ config(materialized='view') }}
-- Every decommissioned serial with why, who, when and where, for auditors: one row per
-- serial whose current status is decommissioned (rejected at the line, unused at batch
-- close, or decommissioned after the line). Query it with `where gtin = ? and lot = ?`.
-- Relations are named without the database so the file can be copied or renamed.
{%- set serials = ref('serial_lifecycle').include(database=false) %}
{%- set events = ref('int_lifecycle_events_replayed').include(database=false) %}
{%- set rejects = ref('stg_line__rejects').include(database=false) %}
{%- set work_orders = ref('dim_work_orders').include(database=false) %}
with

decommissioned as (

    select * from {{ serials }}
    where status = 'decommissioned'

),

final as (

    select
        decommissioned.unit_key,
        decommissioned.gtin,
        decommissioned.lot,
        decommissioned.expiry,
        decommissioned.serial,
        decommissioned.work_order_id,
        case
            when decommissioned.status_source = 'line' then 'rejected_at_line'
            else decommissioned.status_reason
        end as reason,
        case
            when decommissioned.status_source = 'line' then decommissioned.reject_cause
        end as reject_cause,
        decommissioned.status_at as decommissioned_at,
        case
            when decommissioned.status_source = 'line' then 'line'
            else events.event_source
        end as origin,
        events.recorded_by,
        case
            when decommissioned.status_source = 'line' then rejects.gate_id
        end as reject_gate_id,
        case
            when decommissioned.status_source = 'line' then rejects.is_reject_confirmed
        end as is_reject_confirmed,
        events.scope,
        events.scope_id,
        coalesce(events.location_gln, work_orders.site_gln) as location_gln,
        events.event_id,
        events.request_id,
        events.recorded_at,
        decommissioned.line_status,
        decommissioned.case_sscc,
        decommissioned.pallet_sscc

    from decommissioned
    left join {{ events }} as events
        on decommissioned.status_event_id = events.event_id
    left join {{ rejects }} as rejects
        on decommissioned.status_source = 'line'
        and decommissioned.work_order_id = rejects.work_order_id
        and decommissioned.seq = rejects.seq
    left join {{ work_orders }} as work_orders
        on decommissioned.work_order_id = work_orders.work_order_id

)

select * from final
