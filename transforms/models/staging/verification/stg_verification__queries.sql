-- One row per verification query (incoming and outgoing). With no file in the raw folder
-- yet, an empty relation of the contract's columns (verification/querylog.py) stands in.
{%- set queries = source('verification', 'queries') %}
with

source as (

{%- if raw_files_exist('verification/queries/*.parquet') %}

    select * from {{ queries }}

{%- else %}

    select
        cast(null as varchar) as query_id,
        cast(null as timestamptz) as logged_at,
        cast(null as varchar) as direction,
        cast(null as varchar) as requestor_key_id,
        cast(null as varchar) as requestor_partner,
        cast(null as varchar) as requestor_gln,
        cast(null as varchar) as client_company_id,
        cast(null as varchar) as responder_gln,
        cast(null as varchar) as responder_url,
        cast(null as varchar) as correlation_id,
        cast(null as varchar) as context,
        cast(null as varchar) as request_form,
        cast(null as varchar) as request_text,
        cast(null as integer) as http_status,
        cast(null as varchar) as outcome,
        cast(null as boolean) as verified,
        cast(null as varchar) as reason_code,
        cast(null as varchar) as additional_info,
        cast(null as varchar) as error_field,
        cast(null as varchar) as error_detail,
        cast(null as varchar) as gtin,
        cast(null as varchar) as serial,
        cast(null as varchar) as lot,
        cast(null as varchar) as expiry,
        cast(null as varchar) as product_name,
        cast(null as varchar) as company_id,
        cast(null as varchar) as index_status,
        cast(null as bigint) as latency_us
    where false

{%- endif %}

),

renamed as (

    select
        query_id,
        logged_at,
        direction,
        requestor_key_id,
        requestor_partner,
        requestor_gln,
        client_company_id,
        responder_gln,
        responder_url,
        correlation_id,
        context,
        request_form,
        request_text,
        http_status,
        outcome,
        verified,
        reason_code,
        additional_info,
        error_field,
        error_detail,
        gtin,
        serial,
        lot,
        expiry,
        product_name,
        company_id,
        index_status,
        latency_us,
        cast(logged_at as date) as logged_on,
        latency_us / 1000.0 as latency_ms,
        coalesce(context, '') = 'dscsaSaleableReturn' as is_saleable_return

    from source

)

select * from renamed
