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
        acknowledged_at as printed_at

    from source

)

select * from renamed
