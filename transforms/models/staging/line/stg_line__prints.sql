{{ batch_view_config() }}
-- built after int_batch_fingerprints, which the incremental models reading this view query
-- depends_on: {{ ref('int_batch_fingerprints') }}
with

source as (

    select * from {{ source('line', 'print') }}

),

renamed as (

    select
        -- the batch is the folder the row was written to (work_order=<WO>): a filter on it
        -- prunes the raw files; the row's own field must agree (batch_checks)
        work_order as work_order_id,
        work_order_id as recorded_work_order_id,
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
