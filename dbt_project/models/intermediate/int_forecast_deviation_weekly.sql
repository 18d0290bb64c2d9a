-- Weekly forecast deviation |forecast - actual| / actual per region and per CSG (its lead account manager),
-- each week's forecast from its latest origin (int_forecasts_latest_weekly); empty until ml/ lands
-- raw.forecast_predictions.
with fc_am as (
    select
        account_manager_id,
        week_start,
        sum(y_hat) as forecast_units
    from {{ ref('int_forecasts_latest_weekly') }}
    group by account_manager_id, week_start
),

actual_am as (
    -- Same demand definition the forecast is trained on (int_demand_weekly: ERP + own platform stores).
    select
        account_manager_id,
        week_start,
        sum(y) as actual_units
    from {{ ref('int_demand_weekly') }}
    group by account_manager_id, week_start
),

am_week as (
    select
        f.account_manager_id,
        am.region,
        f.week_start,
        f.forecast_units,
        coalesce(a.actual_units, 0) as actual_units
    from fc_am as f
    inner join actual_am as a on f.account_manager_id = a.account_manager_id and f.week_start = a.week_start
    left join {{ ref('stg_crm__account_managers') }} as am on f.account_manager_id = am.account_manager_id
),

scoped as (
    select
        'region' as scope_type,
        region as scope_id,
        week_start,
        sum(forecast_units) as forecast_units,
        sum(actual_units) as actual_units
    from am_week
    group by region, week_start
    union all
    select
        'csg' as scope_type,
        g.csg_id,
        w.week_start,
        sum(w.forecast_units) as forecast_units,
        sum(w.actual_units) as actual_units
    from {{ ref('stg_crm__csg_groups') }} as g
    inner join am_week as w on g.lead_account_manager_id = w.account_manager_id
    group by g.csg_id, w.week_start
)

select
    scope_type,
    scope_id,
    week_start,
    forecast_units,
    actual_units,
    {{ safe_div('abs(forecast_units - actual_units)', 'actual_units') }} as deviation
from scoped
