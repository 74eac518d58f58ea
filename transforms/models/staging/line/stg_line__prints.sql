{{ batch_view_config() }}
-- built after int_batch_fingerprints, which the incremental models reading this view query
-- depends_on: {{ ref('int_batch_fingerprints') }}
with

source as (

    select * from {{ source('line', 'print') }}

),

renamed as (

    select
        work_order_id,
        line_id,
        seq,
        printer_id,
        gtin,
        serial,
        lot,
        expiry as printed_expiry,
        payload,
        hri,
        commanded_at as print_commanded_at,
        -- a unit in flight when the line stopped may lack the printer's acknowledgement:
        -- it counts as printed at its command time, and is flagged
        coalesce(acknowledged_at, commanded_at) as printed_at,
        acknowledged_at is not null as printer_acknowledged

    from source

)

select * from renamed
