with

products as (

    select * from {{ ref('stg_masterdata__products') }}

),

companies as (

    select * from {{ ref('stg_masterdata__companies') }}

),

final as (

    select
        products.gtin,
        products.product_name,
        products.ndc,
        products.ndc11,
        products.dosage_form,
        products.strength,
        products.pack_size,
        products.manufacturer,
        products.snomed_ct_code,
        products.proprietary_code,
        products.company_id,
        companies.company_name,
        products.company_prefix_length,
        -- GTIN-14 = indicator digit + company prefix + item reference + check digit;
        -- the EPC SGTIN puts the indicator digit in front of the item reference.
        substr(products.gtin, 2, products.company_prefix_length) as company_prefix,
        substr(products.gtin, 1, 1)
            || substr(products.gtin, 2 + products.company_prefix_length, 12 - products.company_prefix_length)
            as item_reference,
        products.loaded_at

    from products
    left join companies
        on products.company_id = companies.company_id

)

select * from final
