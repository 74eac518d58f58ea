-- Master-data files may hold several loads of the same record: keep the latest
-- (by loaded_at) per key. Otherwise rename/cast only.
with

source as (

    {{ source_with_defaults('masterdata', 'lots') }}

),

latest as (

    select
        *,
        row_number() over (partition by gtin, lot order by loaded_at desc) as load_rank

    from source

),

renamed as (

    select
        gtin,
        lot,
        expiry,
        manufactured_on,
        lower(release_status) as release_status,
        loaded_at

    from latest
    where load_rank = 1

)

select * from renamed
