-- Master-data files may hold several loads of the same record: keep the latest
-- (by loaded_at) per key. Otherwise rename/cast only.
with

source as (

    {{ source_with_defaults('masterdata', 'companies') }}

),

latest as (

    select
        *,
        row_number() over (partition by company_id order by loaded_at desc) as load_rank

    from source

),

renamed as (

    select
        company_id,
        name as company_name,
        company_prefix,
        loaded_at

    from latest
    where load_rank = 1

)

select * from renamed
