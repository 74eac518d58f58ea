-- Every version of every lot's ERP status with its validity period (valid_to null:
-- still valid): the lot status at any point in time.
with

versions as (

    select * from {{ ref('int_lots_versioned') }}

),

final as (

    select
        gtin,
        lot,
        company_id,
        version_number,
        release_status,
        valid_from,
        valid_to,
        is_current,
        expiry,
        manufactured_on,
        quantity as erp_quantity,
        record_source,
        source_file,
        load_id,
        loaded_at

    from versions

)

select * from final
