-- Every load of every product (source masterdata.products), not only the latest: the
-- history the versioned master data (int_products_versioned) is built from.
with

source as (

    {{ source_with_defaults('masterdata', 'products') }}

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
        erp_material,
        coalesce(source, 'unknown') as record_source,
        source_file,
        load_id,
        -- the ERP's change time when it sent one, else when ingest loaded the record
        coalesce(source_changed_at, loaded_at) as changed_at,
        loaded_at

    from source

)

select * from renamed
