-- Versioned product master (SCD type 2): one row per version of a GTIN's master data,
-- with its validity period. Logic: macro scd2_versions.
{{ scd2_versions(
    ref('stg_erp__product_loads'),
    ['gtin'],
    ['company_id', 'company_prefix_length', 'ndc', 'ndc11', 'product_name', 'dosage_form',
     'strength', 'pack_size', 'manufacturer', 'erp_material']
) }}
