-- One row per trading partner: how its files and acknowledgements went (delivery ledger)
-- and the quality of the EPCIS files it sent (inbound stage: schema validity, deviations,
-- master-data completeness).
-- Timeliness is measured against the partner's acknowledgement deadline; "now" is the
-- moment of the ledger snapshot, so the mart is reproducible from the raw zone.
with

deliveries as (

    select * from {{ ref('stg_partners__deliveries') }}

),

outbound as (

    select
        *,
        acknowledged_at is not null
            and status = 'acknowledged'
            and acknowledged_at <= ack_deadline_at as is_acknowledged_on_time,
        acknowledged_at is not null
            and status = 'acknowledged'
            and acknowledged_at > ack_deadline_at as is_acknowledged_late,
        status = 'sent' and ack_deadline_at < exported_at as is_overdue,
        case
            when status = 'acknowledged'
                then extract(epoch from (acknowledged_at - sent_at))
        end as seconds_to_acknowledge
    from deliveries
    where direction = 'outbound'

),

outbound_per_partner as (

    select
        partner_id,
        count(*) as files_sent,
        count(*) filter (where status = 'acknowledged') as files_acknowledged,
        count(*) filter (where status = 'rejected') as files_rejected,
        count(*) filter (where status = 'failed') as files_failed,
        count(*) filter (where status in ('queued', 'sent')) as files_pending,
        count(*) filter (where is_acknowledged_on_time) as acks_on_time,
        count(*) filter (where is_acknowledged_late) as acks_late,
        count(*) filter (where is_overdue) as acks_overdue,
        avg(seconds_to_acknowledge) as avg_seconds_to_acknowledge,
        max(seconds_to_acknowledge) as max_seconds_to_acknowledge,
        avg(attempts) as avg_attempts,
        max(coalesce(acknowledged_at, sent_at, queued_at)) as last_outbound_at
    from outbound
    group by partner_id

),

inbound_per_partner as (

    select
        partner_id,
        count(*) as files_received,
        count(*) filter (where status = 'rejected') as files_received_rejected,
        max(sent_at) as last_inbound_at
    from deliveries
    where direction = 'inbound'
    group by partner_id

),

inbound_quality as (

    select * from {{ ref('int_partner_inbound_quality') }}

),

partners as (

    select partner_id from outbound_per_partner
    union
    select partner_id from inbound_per_partner
    union
    select partner_id from inbound_quality

),

final as (

    select
        p.partner_id,
        coalesce(o.files_sent, 0) as files_sent,
        coalesce(o.files_acknowledged, 0) as files_acknowledged,
        coalesce(o.files_rejected, 0) as files_rejected,
        coalesce(o.files_failed, 0) as files_failed,
        coalesce(o.files_pending, 0) as files_pending,
        coalesce(o.acks_on_time, 0) as acks_on_time,
        coalesce(o.acks_late, 0) as acks_late,
        coalesce(o.acks_overdue, 0) as acks_overdue,
        case
            when coalesce(o.files_sent, 0) > 0
                then round(100.0 * o.acks_on_time / o.files_sent, 1)
        end as pct_acknowledged_on_time,
        o.avg_seconds_to_acknowledge,
        o.max_seconds_to_acknowledge,
        o.avg_attempts,
        coalesce(i.files_received, 0) as files_received,
        coalesce(i.files_received_rejected, 0) as files_received_rejected,
        coalesce(q.inbound_files_loaded, 0) as inbound_files_loaded,
        coalesce(q.inbound_files_schema_valid, 0) as inbound_files_schema_valid,
        coalesce(q.inbound_deviations, 0) as inbound_deviations,
        case
            when coalesce(q.inbound_files_loaded, 0) + coalesce(i.files_received_rejected, 0) > 0
                then round(
                    100.0 * coalesce(q.inbound_files_schema_valid, 0)
                    / (coalesce(q.inbound_files_loaded, 0) + coalesce(i.files_received_rejected, 0)),
                    1
                )
        end as pct_inbound_schema_valid,
        coalesce(q.inbound_files_masterdata_complete, 0) as inbound_files_masterdata_complete,
        case
            when coalesce(q.inbound_files_loaded, 0) > 0
                then round(
                    100.0 * q.inbound_files_masterdata_complete / q.inbound_files_loaded, 1
                )
        end as pct_inbound_masterdata_complete,
        o.last_outbound_at,
        i.last_inbound_at
    from partners as p
    left join outbound_per_partner as o on p.partner_id = o.partner_id
    left join inbound_per_partner as i on p.partner_id = i.partner_id
    left join inbound_quality as q on p.partner_id = q.partner_id

)

select * from final
