{{ batch_view_config() }}
-- built after int_batch_fingerprints, which the incremental models reading this view query
-- depends_on: {{ ref('int_batch_fingerprints') }}
with

source as (

    select * from {{ source('line', 'aggregate') }}

),

renamed as (

    select
        -- the batch is the folder the row was written to (work_order=<WO>): a filter on it
        -- prunes the raw files; the row's own field must agree (batch_checks)
        work_order as work_order_id,
        work_order_id as recorded_work_order_id,
        line_id,
        parent_sscc,
        lower(parent_level) as parent_level,
        lower(child_level) as child_level,
        child_gtin,
        child_serial,
        child_sscc,
        -- one text key for any child, as a GS1 element string in HRI form:
        -- (00)<SSCC> for a case, (01)<GTIN>(21)<serial> for an item
        case
            when child_sscc is not null then '(00)' || child_sscc
            else '(01)' || child_gtin || '(21)' || child_serial
        end as child_key,
        upper(action) as action,
        parent_full,
        aggregated_at

    from source

)

select * from renamed
