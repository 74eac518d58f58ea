-- One row per shipment: was the buyer licensed when the goods left? The shipment is
-- joined to the licence versions valid at its despatch time (as-of join on the SCD2
-- validity of int_partner_licences_versioned) held for the buyer's party GLN or the
-- ship-to location GLN; each such version stands on the despatch day (UTC) as
--   suspended / revoked (its status), not_yet_valid (before licence_valid_from),
--   expired (after licence_valid_to) or valid;
-- the best standing wins (valid, suspended, revoked, expired, not_yet_valid; then the
-- latest expiry); no licence version at that time: none_on_record.
with

shipment_rows as (

    select * from {{ ref('stg_shipments__shipments') }}

),

licences as (

    select * from {{ ref('int_partner_licences_versioned') }}

),

shipments as (

    select
        shipment_id,
        min(despatched_at) as despatched_at,
        min(destination_party_gln) as destination_party_gln,
        min(destination_location_gln) as destination_location_gln,
        count(*) as containers
    from shipment_rows
    group by shipment_id

),

candidates as (

    select
        shipments.shipment_id,
        licences.issuing_authority,
        licences.licence_number,
        licences.partner_id,
        licences.partner_gln,
        licences.licence_type,
        licences.state,
        licences.licence_valid_from,
        licences.licence_valid_to,
        licences.licence_status,
        licences.version_number,
        licences.valid_from as version_valid_from,
        case
            when licences.licence_status in ('suspended', 'revoked')
                then licences.licence_status
            when cast(timezone('UTC', shipments.despatched_at) as date)
                < licences.licence_valid_from
                then 'not_yet_valid'
            when licences.licence_valid_to is not null
                and cast(timezone('UTC', shipments.despatched_at) as date)
                > licences.licence_valid_to
                then 'expired'
            else 'valid'
        end as standing

    from shipments
    inner join licences
        on licences.partner_gln in (
            shipments.destination_party_gln, shipments.destination_location_gln
        )
        and licences.valid_from <= shipments.despatched_at
        and (licences.valid_to is null or shipments.despatched_at < licences.valid_to)

),

ranked as (

    select
        *,
        count(*) over (partition by shipment_id) as licences_on_record,
        row_number() over (
            partition by shipment_id
            order by
                case standing
                    when 'valid' then 1
                    when 'suspended' then 2
                    when 'revoked' then 3
                    when 'expired' then 4
                    else 5
                end,
                licence_valid_to desc nulls first,
                issuing_authority,
                licence_number
        ) as standing_rank
    from candidates

),

final as (

    select
        shipments.shipment_id,
        shipments.despatched_at,
        shipments.destination_party_gln,
        shipments.destination_location_gln,
        shipments.containers,
        coalesce(ranked.standing, 'none_on_record') as licence_check,
        coalesce(ranked.licences_on_record, 0) as licences_on_record,
        ranked.partner_id,
        ranked.partner_gln as licensed_gln,
        ranked.licence_type,
        ranked.licence_number,
        ranked.issuing_authority,
        ranked.state,
        ranked.licence_status,
        ranked.licence_valid_from,
        ranked.licence_valid_to,
        ranked.version_number as licence_version,
        ranked.version_valid_from as licence_version_since

    from shipments
    left join ranked
        on ranked.shipment_id = shipments.shipment_id
        and ranked.standing_rank = 1

)

select * from final
