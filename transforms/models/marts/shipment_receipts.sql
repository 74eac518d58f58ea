-- Which of our shipped identifiers the customer confirmed received: one row per
-- identifier of the shipments mart (containers, cases, units), with the first receiving
-- event, loaded from the customer's EPCIS, that names it or a container it was shipped
-- in (received pallet => its cases and units received), after the shipment left.
with

shipped as (

    select * from {{ ref('shipments') }}

),

receiving as (

    select * from {{ ref('int_epcis_inbound_receiving_epcs') }}

),

keyed as (

    select
        shipped.*,
        case
            when shipped.serial is not null
                then {{ sgtin_digital_link('shipped.gtin', 'shipped.serial') }}
            else {{ sscc_digital_link('shipped.sscc') }}
        end as identifier_digital_link,
        {{ sscc_digital_link('shipped.parent_sscc') }} as parent_digital_link,
        {{ sscc_digital_link('shipped.shipped_sscc') }} as shipped_digital_link

    from shipped

),

matches as (

    select
        keyed.shipment_id,
        keyed.identifier_key,
        receiving.received_at,
        receiving.event_hash,
        receiving.file_id,
        receiving.partner_id,
        receiving.disposition,
        case
            when receiving.epc_digital_link = keyed.identifier_digital_link then 'itself'
            when receiving.epc_digital_link = keyed.parent_digital_link then 'parent'
            else 'shipped_container'
        end as confirmed_through

    from keyed
    inner join receiving
        on receiving.epc_digital_link in (
            keyed.identifier_digital_link,
            keyed.parent_digital_link,
            keyed.shipped_digital_link
        )
        and receiving.received_at >= keyed.despatched_at

),

first_match as (

    select *
    from matches
    qualify row_number() over (
        partition by shipment_id, identifier_key
        order by received_at, event_hash
    ) = 1

),

final as (

    select
        keyed.shipment_id,
        keyed.identifier_key,
        keyed.identifier_level,
        keyed.gtin,
        keyed.serial,
        keyed.sscc,
        keyed.shipped_sscc,
        keyed.despatched_at,
        keyed.destination_party_gln,
        first_match.received_at is not null as received,
        first_match.received_at,
        first_match.confirmed_through,
        first_match.disposition as received_disposition,
        first_match.partner_id as confirmed_by_partner,
        first_match.file_id as receipt_file_id,
        first_match.event_hash as receipt_event_hash

    from keyed
    left join first_match
        on first_match.shipment_id = keyed.shipment_id
        and first_match.identifier_key = keyed.identifier_key

)

select * from final
