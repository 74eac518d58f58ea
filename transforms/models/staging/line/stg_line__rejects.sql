{{ batch_view_config() }}
-- built after int_batch_fingerprints, which the incremental models reading this view query
-- depends_on: {{ ref('int_batch_fingerprints') }}
with

source as (

    select * from {{ source('line', 'reject') }}

),

renamed as (

    select
        work_order_id,
        line_id,
        seq,
        gate_id,
        gtin,
        serial,
        lower(cause) as reject_cause,
        commanded_at as reject_commanded_at,
        confirmed as is_reject_confirmed,
        confirmed_at as reject_confirmed_at

    from source

)

select * from renamed
