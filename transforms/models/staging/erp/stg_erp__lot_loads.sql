-- Every load of every lot (source masterdata.lots), not only the latest: the history
-- the versioned lot status (int_lots_versioned) is built from.
with

source as (

    {{ source_with_defaults('masterdata', 'lots') }}

),

renamed as (

    select
        gtin,
        lot,
        company_id,
        expiry,
        manufactured_on,
        lower(release_status) as release_status,
        quantity,
        quantity_unit,
        coalesce(source, 'unknown') as record_source,
        source_file,
        load_id,
        coalesce(source_changed_at, loaded_at) as changed_at,
        loaded_at

    from source

)

select * from renamed
