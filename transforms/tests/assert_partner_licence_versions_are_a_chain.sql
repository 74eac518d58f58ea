-- Versions of a partner licence never overlap and leave no gap: each version ends exactly
-- where the next one begins, and only the last is current. Returns the offending versions.
with

versions as (

    select
        *,
        lead(valid_from) over (
            partition by issuing_authority, licence_number order by version_number
        ) as next_from,
        max(version_number) over (
            partition by issuing_authority, licence_number
        ) as last_version
    from {{ ref('int_partner_licences_versioned') }}

)

select *
from versions
where (version_number < last_version and (valid_to is null or valid_to <> next_from))
    or (version_number = last_version and (valid_to is not null or not is_current))
    or (version_number < last_version and is_current)
