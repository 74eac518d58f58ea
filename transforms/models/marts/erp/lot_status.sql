-- The current release status of every lot as the ERP reports it, with the time it took
-- effect: what gating and verification answers read.
with

versions as (

    select * from {{ ref('int_lots_versioned') }}

),

final as (

    select
        gtin,
        lot,
        company_id,
        release_status,
        release_status = 'released' as is_released_for_packaging,
        valid_from as status_since,
        expiry,
        manufactured_on,
        quantity as erp_quantity,
        quantity_unit as erp_quantity_unit,
        record_source,
        source_file,
        load_id,
        version_number,
        loaded_at

    from versions
    where is_current

)

select * from final
