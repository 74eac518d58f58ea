-- Every identifier a partner confirmed receiving: one row per EPC named by a receiving
-- event (bizStep receiving, in any CBV spelling) of a loaded partner EPCIS file.
with

events as (

    select * from {{ ref('stg_epcis_inbound__events') }}

),

epcs as (

    select * from {{ ref('stg_epcis_inbound__epcs') }}

),

files as (

    select * from {{ ref('stg_epcis_inbound__files') }}

),

receiving as (

    select *
    from events
    where biz_step in (
        'receiving',
        'urn:epcglobal:cbv:bizstep:receiving',
        'https://ref.gs1.org/cbv/BizStep-receiving'
    )

),

final as (

    select
        epcs.epc_digital_link,
        epcs.epc,
        receiving.event_key,
        receiving.event_hash,
        receiving.event_at as received_at,
        receiving.disposition,
        receiving.biz_location,
        receiving.file_id,
        files.partner_id,
        files.sender

    from receiving
    inner join epcs
        on epcs.event_key = receiving.event_key
    inner join files
        on files.file_id = receiving.file_id
    where epcs.role = 'epc'

)

select * from final
