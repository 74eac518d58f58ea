-- Versioned lots (SCD type 2): one row per version of a lot (release status, expiry,
-- quantity...), valid from the ERP's change time until the next version.
{{ scd2_versions(
    ref('stg_erp__lot_loads'),
    ['gtin', 'lot'],
    ['company_id', 'expiry', 'manufactured_on', 'release_status', 'quantity', 'quantity_unit']
) }}
