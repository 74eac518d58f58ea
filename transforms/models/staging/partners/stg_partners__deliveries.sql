-- One row per file sent to or received from a trading partner (ledger snapshot).
-- With no snapshot in the raw folder yet, an empty relation of the contract's columns
-- (partners/export.py) stands in for the source.
{%- set deliveries = source('partners', 'deliveries') %}
with

source as (

{%- if raw_files_exist('partners/deliveries/*.parquet') %}

    select * from {{ deliveries }}

{%- else %}

    select
        cast(null as varchar) as message_id,
        cast(null as varchar) as direction,
        cast(null as varchar) as partner_id,
        cast(null as varchar) as transport,
        cast(null as varchar) as file_name,
        cast(null as varchar) as file_path,
        cast(null as varchar) as content_sha256,
        cast(null as bigint) as bytes,
        cast(null as varchar) as status,
        cast(null as integer) as attempts,
        cast(null as timestamptz) as queued_at,
        cast(null as timestamptz) as last_attempt_at,
        cast(null as timestamptz) as sent_at,
        cast(null as timestamptz) as acknowledged_at,
        cast(null as timestamptz) as ack_deadline_at,
        cast(null as varchar) as ack_kind,
        cast(null as varchar) as ack_detail,
        cast(null as varchar) as failure_reason,
        cast(null as timestamptz) as exported_at
    where false

{%- endif %}

),

renamed as (

    select
        message_id,
        lower(direction) as direction,
        partner_id,
        lower(transport) as transport,
        file_name,
        content_sha256,
        bytes,
        lower(status) as status,
        attempts,
        queued_at,
        sent_at,
        acknowledged_at,
        ack_deadline_at,
        ack_kind,
        failure_reason,
        exported_at

    from source

)

select * from renamed
