-- Forecast vs actual per hierarchy level and week (each grain week's forecast from its latest origin,
-- int_forecasts_latest_weekly; weeks before the as-of date only), with WAPE, bias and the cost of the
-- error: error_cost_per_deviation_point (seed business_parameters, 万元 per month per percentage point)
-- x WAPE in points.
with as_of as (select as_of_date from {{ ref('int_as_of') }}),

latest_forecast as (
    select f.* from {{ ref('int_forecasts_latest_weekly') }} as f cross join as_of
    where f.week_start < as_of.as_of_date
),

fc_weeks as (
    select distinct week_start from latest_forecast
),

demand as (
    select dw.* from {{ ref('int_demand_weekly') }} as dw
    where dw.week_start in (select fc_weeks.week_start from fc_weeks)
),

grain as (
    select
        coalesce(f.account_manager_id, d.account_manager_id) as account_manager_id,
        coalesce(f.sku_id, d.sku_id) as sku_id,
        coalesce(f.channel, d.channel) as channel,
        coalesce(f.week_start, d.week_start) as week_start,
        coalesce(f.y_hat, 0) as forecast_units,
        coalesce(d.y, 0) as actual_units
    from latest_forecast as f
    full outer join demand as d
        on
            f.account_manager_id = d.account_manager_id and f.sku_id = d.sku_id
            and f.channel = d.channel and f.week_start = d.week_start
),

grain_with_hierarchy as (
    select
        grain.*,
        coalesce(am.region, 'unassigned') as region,
        coalesce(am.cluster_id, 'unassigned') as cluster_id,
        coalesce(s.product_line_id, 'unassigned') as product_line
    from grain
    left join {{ ref('stg_crm__account_managers') }} as am on grain.account_manager_id = am.account_manager_id
    left join {{ ref('stg_erp__skus') }} as s on grain.sku_id = s.sku_id
),

nodes as (
    select
        'total' as level,
        'total' as node_id,
        week_start,
        sum(forecast_units) as f,
        sum(actual_units) as y
    from grain_with_hierarchy
    group by week_start
    union all
    select
        'region' as level,
        region,
        week_start,
        sum(forecast_units) as f,
        sum(actual_units) as y
    from grain_with_hierarchy
    group by region, week_start
    union all
    select
        'cluster' as level,
        region || '/' || cluster_id as node_id,
        week_start,
        sum(forecast_units) as f,
        sum(actual_units) as y
    from grain_with_hierarchy
    group by region, cluster_id, week_start
    union all
    select
        'account_manager' as level,
        account_manager_id,
        week_start,
        sum(forecast_units) as f,
        sum(actual_units) as y
    from grain_with_hierarchy
    group by account_manager_id, week_start
    union all
    select
        'product_line' as level,
        product_line,
        week_start,
        sum(forecast_units) as f,
        sum(actual_units) as y
    from grain_with_hierarchy
    group by product_line, week_start
    union all
    select
        'sku' as level,
        sku_id,
        week_start,
        sum(forecast_units) as f,
        sum(actual_units) as y
    from grain_with_hierarchy
    group by sku_id, week_start
    union all
    select
        'grain' as level,
        account_manager_id || '|' || sku_id || '|' || channel as node_id,
        week_start,
        forecast_units,
        actual_units
    from grain_with_hierarchy
),

by_level as (
    select
        level,
        week_start,
        count(*) as n_nodes,
        sum(f) as forecast_units,
        sum(y) as actual_units,
        sum(abs(f - y)) as abs_error,
        sum(f - y) as error
    from nodes
    group by level, week_start
)

select
    level,
    week_start,
    n_nodes,
    {{ rnd('forecast_units', 2) }} as forecast_units,
    {{ rnd('actual_units', 2) }} as actual_units,
    {{ rnd('abs_error', 2) }} as abs_error,
    {{ rnd(safe_div('abs_error', 'abs(actual_units)'), 4) }} as wape,
    {{ rnd(safe_div('error', 'abs(actual_units)'), 4) }} as bias,
    {{ rnd(safe_div('abs_error', 'abs(actual_units)') ~ ' * 100 * ' ~ param('error_cost_per_deviation_point'), 2) }}
        as error_cost_wan_per_month
from by_level
