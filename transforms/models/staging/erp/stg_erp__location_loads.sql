-- Every load of every location (source masterdata.locations): GLN history.
with

source as (

    {{ source_with_defaults('masterdata', 'locations') }}

),

renamed as (

    select
        gln,
        lower(role) as location_role,
        party_name,
        name as location_name,
        street,
        city,
        state,
        postal_code,
        upper(country_code) as country_code,
        coalesce(source, 'unknown') as record_source,
        loaded_at as changed_at,
        loaded_at

    from source

)

select * from renamed
