-- Master-data files may hold several loads of the same record: keep the latest
-- (by loaded_at) per key. Otherwise rename/cast only.
with

source as (

    {{ source_with_defaults('masterdata', 'products') }}

),

latest as (

    select
        *,
        row_number() over (partition by gtin order by loaded_at desc) as load_rank

    from source

),

renamed as (

    select
        gtin,
        company_id,
        company_prefix_length,
        ndc,
        ndc11,
        name as product_name,
        dosage_form,
        strength,
        pack_size,
        manufacturer,
        snomed_ct_code,
        proprietary_code,
        loaded_at

    from latest
    where load_rank = 1

)

select * from renamed
