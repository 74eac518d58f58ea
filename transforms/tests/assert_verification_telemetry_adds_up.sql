-- Telemetry counts must add up: answers never exceed queries, and the telemetry holds
-- exactly as many queries as the staged query log.
with

telemetry as (

    select * from {{ ref('verification_telemetry') }}

),

log as (

    select count(*) as logged from {{ ref('stg_verification__queries') }}

),

bad_rows as (

    select 'row' as problem
    from telemetry
    where verified_answers + not_verified_answers > queries
        or saleable_returns_verified + saleable_returns_not_verified > saleable_return_queries
        or failed_authentications > queries

),

totals as (

    select 'total' as problem
    from log
    where logged != (select coalesce(sum(queries), 0) from telemetry)

)

select * from bad_rows
union all
select * from totals
