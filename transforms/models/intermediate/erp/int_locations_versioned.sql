-- Versioned locations (SCD type 2): one row per version of a GLN's address and role.
{{ scd2_versions(
    ref('stg_erp__location_loads'),
    ['gln'],
    ['location_role', 'party_name', 'location_name', 'street', 'city', 'state',
     'postal_code', 'country_code']
) }}
