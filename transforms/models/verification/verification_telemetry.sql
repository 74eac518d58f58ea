-- Verification telemetry per day, direction, requestor, context and outcome: volume,
-- latency, not-verified answers by reason, saleable-return outcomes and failed
-- authentications per requestor. The dashboards sum and divide these counts.
with

queries as (

    select * from {{ ref('stg_verification__queries') }}

),

final as (

    select
        logged_on,
        direction,
        coalesce(requestor_key_id, '(none)') as requestor_key_id,
        coalesce(requestor_partner, '(unknown)') as requestor_partner,
        coalesce(context, '(none)') as context,
        outcome,
        coalesce(reason_code, '') as reason_code,
        coalesce(additional_info, '') as additional_info,
        count(*) as queries,
        count(*) filter (where verified) as verified_answers,
        count(*) filter (where not verified) as not_verified_answers,
        count(*) filter (where is_saleable_return) as saleable_return_queries,
        count(*) filter (where is_saleable_return and verified) as saleable_returns_verified,
        count(*) filter (where is_saleable_return and not verified) as saleable_returns_not_verified,
        count(*) filter (where outcome = 'unauthenticated') as failed_authentications,
        avg(latency_ms) as latency_ms_avg,
        quantile_cont(latency_ms, 0.5) as latency_ms_p50,
        quantile_cont(latency_ms, 0.99) as latency_ms_p99,
        max(latency_ms) as latency_ms_max

    from queries
    group by all

)

select * from final
