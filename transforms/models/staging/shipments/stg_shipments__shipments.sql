-- One row per shipment and top-level container shipped (pallet, or case on no pallet).
-- With no file in the raw folder yet, an empty relation of the contract's columns
-- (epcis/shipping.py SHIPMENT_SCHEMA) stands in for the source.
{%- set shipments = source('shipments', 'shipments') %}
with

source as (

{%- if raw_files_exist('shipments/part-*.parquet') %}

    select * from {{ shipments }}

{%- else %}

    select
        cast(null as varchar) as shipment_id,
        cast(null as timestamptz) as despatched_at,
        cast(null as varchar) as po_number,
        cast(null as varchar) as despatch_advice,
        cast(null as varchar) as source_party_gln,
        cast(null as varchar) as source_location_gln,
        cast(null as varchar) as destination_party_gln,
        cast(null as varchar) as destination_location_gln,
        cast(null as varchar) as sscc,
        cast(null as varchar) as level,
        cast(null as varchar) as work_order_id,
        cast(null as varchar) as recorded_by,
        cast(null as timestamptz) as recorded_at
    where false

{%- endif %}

),

renamed as (

    select
        shipment_id,
        despatched_at,
        po_number,
        despatch_advice,
        source_party_gln,
        source_location_gln,
        destination_party_gln,
        destination_location_gln,
        sscc,
        lower(level) as level,
        work_order_id,
        recorded_by,
        recorded_at

    from source

)

select * from renamed
