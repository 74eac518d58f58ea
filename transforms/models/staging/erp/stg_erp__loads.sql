-- One row per file an ERP/MES connector loaded or sent to quarantine. Rename only; an
-- empty relation of the contract's columns stands in while no file was loaded yet.
with

source as (

{%- if raw_files_exist('erp/loads/*.parquet') %}

    {{ source_with_defaults('erp', 'loads') }}

{%- else %}

    select
        cast(null as varchar) as load_id,
        cast(null as varchar) as connection,
        cast(null as varchar) as company_id,
        cast(null as varchar) as kind,
        cast(null as varchar) as source_file,
        cast(null as varchar) as sha256,
        cast(null as varchar) as outcome,
        cast(null as bigint) as products,
        cast(null as bigint) as lots,
        cast(null as bigint) as work_orders,
        cast(null as bigint) as rejected_rows,
        cast(null as varchar) as reason,
        cast(null as timestamptz) as loaded_at,
        cast(null as varchar) as loaded_by
    where false

{%- endif %}

),

renamed as (

    select
        load_id,
        connection,
        company_id,
        kind as connector_kind,
        source_file,
        sha256 as source_sha256,
        outcome,
        products as product_rows,
        lots as lot_rows,
        work_orders as work_order_rows,
        rejected_rows,
        reason as first_reason,
        loaded_at,
        loaded_by

    from source

)

select * from renamed
