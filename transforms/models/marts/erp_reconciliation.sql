-- One row per work order: the ERP's planned quantity against what serialization did
-- with the batch's serials, with a status and every discrepancy spelled out.
-- Small (one row per batch), so rebuilt in full on every run: an ERP load (planned or
-- batch quantity, release status) shows on the next run, whatever batch it concerns.
-- The serial counts come per work order from int_work_order_serial_counts.
{{ config(materialized='table') }}
with

work_orders as (

    select * from {{ ref('dim_work_orders') }}

),

quality as (

    select * from {{ ref('batch_quality') }}

),

lot_status as (

    select * from {{ ref('lot_status') }}

),

-- what the serials did, per work order (incremental by batch)
counts as (

    select * from {{ ref('int_work_order_serial_counts') }}

),

joined as (

    select
        work_orders.work_order_id,
        work_orders.gtin,
        work_orders.lot,
        work_orders.release_status,
        work_orders.planned_quantity as erp_planned_quantity,
        lot_status.erp_quantity as erp_batch_quantity,
        coalesce(counts.allocated, 0) as allocated,
        coalesce(counts.printed, 0) as printed,
        coalesce(counts.commissioned_at_line, 0) as commissioned_at_line,
        coalesce(counts.rejected_at_line, 0) as rejected_at_line,
        coalesce(counts.unused_at_batch_close, 0) as unused_at_batch_close,
        coalesce(counts.decommissioned, 0) as decommissioned,
        coalesce(counts.active, 0) as active,
        coalesce(counts.shipped, 0) as shipped,
        coalesce(quality.passed, 0) as line_passed,
        coalesce(quality.rejected, 0) as line_rejected
    from work_orders
    left join counts on work_orders.work_order_id = counts.work_order_id
    left join quality on work_orders.work_order_id = quality.work_order_id
    left join lot_status
        on work_orders.gtin = lot_status.gtin
        and work_orders.lot = lot_status.lot

),

explained as (

    select
        *,
        concat_ws(
            '; ',
            case when allocated <> erp_planned_quantity
                then 'allocated ' || allocated || ' <> ERP planned ' || erp_planned_quantity end,
            case when printed + unused_at_batch_close < allocated
                then (allocated - printed - unused_at_batch_close)
                    || ' allocated serials neither printed nor closed as unused' end,
            case when line_passed + line_rejected <> printed
                then (printed - line_passed - line_rejected)
                    || ' printed units without a line outcome' end,
            case when active + decommissioned + shipped <> allocated
                then 'statuses do not add up to the allocated serials' end,
            case when commissioned_at_line > erp_batch_quantity
                then 'commissioned ' || commissioned_at_line || ' > ERP batch quantity '
                    || erp_batch_quantity end
        ) as discrepancy
    from joined

),

final as (

    select
        *,
        case when discrepancy = '' then 'reconciled' else 'discrepancy' end
            as reconciliation_status
    from explained

)

select * from final
