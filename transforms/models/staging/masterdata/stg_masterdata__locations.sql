-- Master-data files may hold several loads of the same record: keep the latest
-- (by loaded_at) per key. Otherwise rename/cast only.
with

source as (

    {{ source_with_defaults('masterdata', 'locations') }}

),

latest as (

    select
        *,
        row_number() over (partition by gln order by loaded_at desc) as load_rank

    from source

),

renamed as (

    select
        gln,
        company_prefix_length,
        lower(role) as location_role,
        party_name,
        name as location_name,
        street,
        city,
        state,
        postal_code,
        upper(country_code) as country_code,
        loaded_at

    from latest
    where load_rank = 1

)

select * from renamed
