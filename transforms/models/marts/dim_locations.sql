with

locations as (

    select * from {{ ref('stg_masterdata__locations') }}

),

final as (

    select
        gln,
        location_role,
        location_name,
        party_name,
        street,
        city,
        state,
        postal_code,
        country_code,
        company_prefix_length,
        -- GLN-13 = company prefix + location reference + check digit (EPC SGLN parts)
        substr(gln, 1, company_prefix_length) as company_prefix,
        substr(gln, 1 + company_prefix_length, 12 - company_prefix_length) as location_reference,
        loaded_at

    from locations

)

select * from final
