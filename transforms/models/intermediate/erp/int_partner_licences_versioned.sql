-- Versioned trading-partner licences (SCD type 2): one row per version of a licence
-- (issuing authority + licence number) with its validity period. A renewal (new
-- licence_valid_to), a suspension or a revocation is a new version from its change time.
{{ scd2_versions(
    ref('stg_masterdata__partner_licences'),
    ['issuing_authority', 'licence_number'],
    ['partner_id', 'partner_gln', 'licence_type', 'state', 'licence_valid_from',
     'licence_valid_to', 'licence_status']
) }}
