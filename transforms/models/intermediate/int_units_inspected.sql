-- One row per printed unit, with the camera's verdict and the reject gate's record.
{{ batch_incremental_config() }}
with

prints as (

    select * from {{ ref('stg_line__prints') }}
    where {{ batch_filter('work_order_id') }}

),

inspections as (

    select * from {{ ref('stg_line__inspections') }}
    where {{ batch_filter('work_order_id') }}

),

rejects as (

    select * from {{ ref('stg_line__rejects') }}
    where {{ batch_filter('work_order_id') }}

),

units as (

    select
        prints.work_order_id,
        prints.seq,
        '(01)' || prints.gtin || '(21)' || prints.serial as unit_key,
        prints.line_id,
        prints.gtin,
        prints.serial,
        prints.lot,
        prints.printed_expiry,
        prints.printed_at,
        inspections.inspected_at,
        inspections.outcome,
        inspections.inspection_cause,
        inspections.grade,
        inspections.grade_value,
        inspections.is_readable,
        inspections.decoded_serial,
        coalesce(inspections.outcome = 'pass', false) as is_passed,
        coalesce(inspections.outcome = 'fail', false) as is_rejected,
        case
            when inspections.outcome = 'fail'
                then coalesce(rejects.reject_cause, inspections.inspection_cause)
        end as reject_cause,
        rejects.seq is not null as has_reject_record,
        rejects.is_reject_confirmed,
        rejects.reject_commanded_at,
        rejects.reject_confirmed_at,
        case
            when inspections.outcome = 'fail'
                then coalesce(
                    rejects.reject_confirmed_at,
                    rejects.reject_commanded_at,
                    inspections.inspected_at
                )
        end as rejected_at

    from prints
    left join inspections
        on prints.work_order_id = inspections.work_order_id
        and prints.seq = inspections.seq
    left join rejects
        on prints.work_order_id = rejects.work_order_id
        and prints.seq = rejects.seq

)

select * from units
