-- Every load of every trading-partner licence (source masterdata_licences.partner_licences),
-- renamed only: the history int_partner_licences_versioned versions. The licence's own
-- dates become licence_valid_from / licence_valid_to (valid_from / valid_to of a version
-- are the SCD2 validity). With no file yet, an empty relation of the contract's columns
-- (ingest/schemas.py PARTNER_LICENCE_SCHEMA) stands in for the source.
{%- set licences = source('masterdata_licences', 'partner_licences') %}
with

source as (

{%- if raw_files_exist('masterdata/partner_licences/*.parquet') %}

    select * from {{ licences }}

{%- else %}

    select
        cast(null as varchar) as partner_id,
        cast(null as varchar) as partner_gln,
        cast(null as varchar) as licence_type,
        cast(null as varchar) as licence_number,
        cast(null as varchar) as issuing_authority,
        cast(null as varchar) as state,
        cast(null as date) as valid_from,
        cast(null as date) as valid_to,
        cast(null as varchar) as status,
        cast(null as timestamptz) as source_changed_at,
        cast(null as varchar) as source,
        cast(null as varchar) as source_file,
        cast(null as varchar) as load_id,
        cast(null as timestamptz) as loaded_at,
        cast(null as varchar) as loaded_by
    where false

{%- endif %}

),

renamed as (

    select
        issuing_authority,
        licence_number,
        partner_id,
        partner_gln,
        lower(licence_type) as licence_type,
        state,
        valid_from as licence_valid_from,
        valid_to as licence_valid_to,
        lower(status) as licence_status,
        source as record_source,
        source_file,
        load_id,
        loaded_by,
        coalesce(source_changed_at, loaded_at) as changed_at,
        loaded_at

    from source

)

select * from renamed
