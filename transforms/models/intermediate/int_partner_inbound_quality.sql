-- One row per trading partner that sent EPCIS files the inbound stage loaded: schema
-- validity (files without deviations), deviations recorded, and master-data completeness
-- (a file is complete when its header carries product (EPCClass) and location master data).
with

files as (

    select * from {{ ref('stg_epcis_inbound__files') }}
    where partner_id is not null

),

masterdata as (

    select
        file_id,
        bool_or(vocabulary_type like '%EPCClass') as has_product_masterdata,
        bool_or(vocabulary_type like '%Location') as has_location_masterdata
    from {{ ref('stg_epcis_inbound__masterdata') }}
    group by file_id

),

per_partner as (

    select
        f.partner_id,
        count(*) as inbound_files_loaded,
        count(*) filter (where f.deviations = 0) as inbound_files_schema_valid,
        coalesce(sum(f.deviations), 0) as inbound_deviations,
        count(*) filter (
            where coalesce(m.has_product_masterdata, false)
            and coalesce(m.has_location_masterdata, false)
        ) as inbound_files_masterdata_complete
    from files as f
    left join masterdata as m on f.file_id = m.file_id
    group by f.partner_id

)

select * from per_partner
