{{ config(materialized='view') }}
-- Full history of one serial, for auditors: every status change (serial_status_history),
-- what the line recorded about the unit (print, camera verdict, reject gate), every time
-- the unit went into or out of a case, and every time that case went onto or off a
-- pallet while the unit was in it or not. One row per fact, in time order per serial
-- (fact_seq). A view: query it with `where gtin = ? and serial = ?`.
-- Relations are named without the database so the file can be copied or renamed.
{%- set history = ref('serial_status_history').include(database=false) %}
{%- set serials = ref('serial_lifecycle').include(database=false) %}
{%- set prints = ref('stg_line__prints').include(database=false) %}
{%- set inspections = ref('stg_line__inspections').include(database=false) %}
{%- set rejects = ref('stg_line__rejects').include(database=false) %}
{%- set aggregations = ref('stg_line__aggregations').include(database=false) %}
with

status_changes as (

    select
        gtin,
        serial,
        work_order_id,
        occurred_at,
        10 + transition_seq as fact_rank,
        'status' as fact,
        from_status,
        to_status,
        reason,
        cast(null as varchar) as container_sscc,
        cast(null as varchar) as container_level,
        cast(null as varchar) as action,
        cast(null as varchar) as outcome,
        cast(null as varchar) as grade,
        cast(null as varchar) as device_id,
        origin,
        recorded_by,
        scope,
        scope_id,
        location_gln,
        event_id,
        request_id

    from {{ history }}

),

printed as (

    select
        gtin, serial, work_order_id, printed_at as occurred_at, 1 as fact_rank,
        'printed' as fact, null, null, null, null, null, null, null, null,
        printer_id as device_id, 'line' as origin, null, 'line', line_id, null, null, null

    from {{ prints }}

),

inspected as (

    select
        inspections.gtin, inspections.expected_serial, inspections.work_order_id,
        inspections.inspected_at, 2, 'inspected', null, null, inspections.inspection_cause,
        null, null, null, inspections.outcome, inspections.grade, inspections.camera_id,
        'line', null, 'line', inspections.line_id, null, null, null

    from {{ inspections }} as inspections

),

rejected as (

    select
        gtin, serial, work_order_id, coalesce(reject_confirmed_at, reject_commanded_at), 3,
        case when is_reject_confirmed then 'rejected' else 'reject_unconfirmed' end,
        null, null, reject_cause, null, null, null, null, null, gate_id,
        'line', null, 'line', line_id, null, null, null

    from {{ rejects }}

),

packing as (

    select
        child_gtin, child_serial, work_order_id, aggregated_at, 4,
        case when action = 'ADD' then 'packed' else 'unpacked' end,
        null, null, null, parent_sscc, parent_level, action, null, null, null,
        'line', null, 'case', parent_sscc, null, null, null

    from {{ aggregations }}
    where child_level = 'item'

),

-- the case's own moves onto and off pallets, for every case the unit has been in
cases_of_unit as (

    select distinct child_gtin, child_serial, parent_sscc as case_sscc
    from {{ aggregations }}
    where child_level = 'item'

),

palletising as (

    select
        cases_of_unit.child_gtin, cases_of_unit.child_serial, pallets.work_order_id,
        pallets.aggregated_at, 5,
        case when pallets.action = 'ADD' then 'case_palletised' else 'case_depalletised' end,
        null, null, null, pallets.parent_sscc, pallets.parent_level, pallets.action, null,
        null, null, 'line', null, 'case', cases_of_unit.case_sscc, null, null, null

    from cases_of_unit
    inner join {{ aggregations }} as pallets
        on pallets.child_sscc = cases_of_unit.case_sscc

),

facts as (

    select * from status_changes
    union all select * from printed
    union all select * from inspected
    union all select * from rejected
    union all select * from packing
    union all select * from palletising

),

final as (

    select
        '(01)' || facts.gtin || '(21)' || facts.serial as unit_key,
        facts.gtin,
        facts.serial,
        serials.lot,
        serials.expiry,
        facts.work_order_id,
        row_number() over (
            partition by facts.gtin, facts.serial
            order by facts.occurred_at, facts.fact_rank, facts.container_sscc
        ) as fact_seq,
        facts.occurred_at,
        facts.fact,
        facts.from_status,
        facts.to_status,
        facts.reason,
        facts.container_sscc,
        facts.container_level,
        facts.action,
        facts.outcome,
        facts.grade,
        facts.device_id,
        facts.origin,
        facts.recorded_by,
        facts.scope,
        facts.scope_id,
        facts.location_gln,
        facts.event_id,
        facts.request_id

    from facts
    left join {{ serials }} as serials
        on facts.gtin = serials.gtin
        and facts.serial = serials.serial

)

select * from final
