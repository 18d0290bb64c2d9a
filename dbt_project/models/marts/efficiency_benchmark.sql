-- Five efficiency dimensions of this company, derived from the data, against the industry average and the
-- top 10% (efficiency_baselines seed). A figure that cannot be derived yet is null with the reason in `basis`.
with a as (select as_of_date from {{ ref('int_as_of') }}),
integration as (
    -- Hours from the end of a sales week (Monday after) until its field sell-through report arrives.
    select percentile_cont(0.5) within group (
               order by {{ hours_between(dbt.dateadd('day', 7, 'week_start'), 'reported_at') }}) as v
    from {{ ref('stg_crm__sell_through_reports') }}
),
response as (
    select percentile_cont(0.5) within group (order by {{ hours_between('t.opened_at', 't.closed_at') }}) as v
    from {{ ref('stg_crm__tickets') }} t cross join a
    where t.closed_at is not null and cast(t.opened_at as date) >= {{ add_days(-365, 'a.as_of_date') }}
),
proposal as (
    -- Days from a custom request to the first won opportunity of the same account and product line after it.
    select percentile_cont(0.5) within group (order by days) as v
    from (
        select r.request_id, min({{ dbt.datediff('r.request_date', 'o.closed_date', 'day') }}) as days
        from {{ ref('stg_crm__custom_requests') }} r
        join {{ ref('stg_crm__opportunities') }} o
          on o.account_id = r.account_id and o.product_line_id = r.product_line_id
         and o.stage = '赢单' and o.closed_date >= r.request_date
        group by r.request_id
    ) x
),
iteration as (
    select count(*) as runs,
           {{ safe_div('count(*)', 'greatest(1, ' ~ dbt.datediff('min(cast(trained_at as date))', 'max(a.as_of_date)', 'day') ~ ') / 30.0') }} as v
    from {{ ref('stg_forecast__runs') }} cross join a
),
coverage as (
    select {{ safe_div('count(distinct k.customer_id)', 'count(distinct o.customer_id)') }} as v,
           count(distinct k.customer_id) as tracked
    from {{ ref('int_customer_orders') }} o
    left join (select distinct customer_id from {{ ref('stg_value_tracking__customer_kpis') }}) k on k.customer_id = o.customer_id
),
figures as (
    select 'data_integration_hours' as dimension, (select v from integration) as company_value,
           'median hours from week end to CRM sell-through report' as basis
    union all
    select 'cross_function_response_hours', (select v from response), 'median ticket open-to-close hours, last 365 days'
    union all
    select 'custom_proposal_cycle_days', (select v from proposal), 'median days from custom request to the won opportunity answering it'
    union all
    select 'model_iteration_per_month', case when (select runs from iteration) = 0 then null else (select v from iteration) end,
           case when (select runs from iteration) = 0 then 'no forecast runs yet (raw.forecast_runs empty or absent)'
                else 'forecast training runs per 30 days since the first run' end
    union all
    select 'value_tracking_coverage', case when (select tracked from coverage) = 0 then null else (select v from coverage) end,
           case when (select tracked from coverage) = 0 then 'no customer KPI feed landed yet (raw.customer_kpis)'
                else 'share of customers ordering in the last 365 days with KPIs tracked' end
)
select
    b.dimension,
    b.unit,
    b.lower_is_better,
    {{ rnd('f.company_value', 2) }} as company_value,
    b.industry_average,
    b.top_10_percent,
    -- Position between the industry average (0) and the top 10% (1); above 1 beats the top 10%.
    {{ rnd(safe_div('f.company_value - b.industry_average', 'b.top_10_percent - b.industry_average'), 3) }} as gap_closed,
    f.basis
from {{ ref('efficiency_baselines') }} b
left join figures f on f.dimension = b.dimension
