-- Warning lights per region and per CSG. Red: forecast deviation above the threshold for the last N weeks
-- running (status no_forecast_yet until ml/ writes forecasts); yellow: CSG task overdue rate above the
-- threshold; green: custom-solution requests up at least the threshold month on month. Thresholds: seed.
with thresholds as (
    select
        max(case when light = 'forecast_deviation' then threshold end) as red_threshold,
        max(case when light = 'forecast_deviation' then consecutive_periods end) as red_periods,
        max(case when light = 'csg_overdue' then threshold end) as yellow_threshold,
        max(case when light = 'custom_request_growth' then threshold end) as green_threshold
    from {{ ref('warning_thresholds') }}
),

as_of as (
    select
        as_of_date,
        cast({{ dbt.date_trunc('month', 'as_of_date') }} as date) as this_month
    from {{ ref('int_as_of') }}
),

dev as (
    select
        d.*,
        row_number() over (partition by d.scope_type, d.scope_id order by d.week_start desc) as recency
    from {{ ref('int_forecast_deviation_weekly') }} as d cross join as_of
    where d.week_start < as_of.as_of_date
),

red as (
    select
        dev.scope_type,
        dev.scope_id,
        count(*) as weeks_with_forecast,
        max(case when dev.recency = 1 then dev.deviation end) as deviation_last_week,
        max(case when dev.recency = 2 then dev.deviation end) as deviation_week_before,
        sum(case when dev.deviation > thresholds.red_threshold then 1 else 0 end) as weeks_over_threshold
    from dev cross join thresholds
    where dev.recency <= thresholds.red_periods
    group by dev.scope_type, dev.scope_id
),

req as (
    select
        m.scope_type,
        m.scope_id,
        cast(
            sum(case when m.month_start = {{ dbt.dateadd('month', -1, 'as_of.this_month') }} then m.requests else 0 end)
            as {{ dbt.type_bigint() }}
        ) as requests_last_month,
        cast(
            sum(case when m.month_start = {{ dbt.dateadd('month', -2, 'as_of.this_month') }} then m.requests else 0 end)
            as {{ dbt.type_bigint() }}
        ) as requests_month_before
    from {{ ref('int_custom_requests_monthly') }} as m cross join as_of
    group by m.scope_type, m.scope_id
),

lights as (
    select
        s.scope_type,
        s.scope_id,
        s.region,
        case
            when coalesce(red.weeks_with_forecast, 0) = 0 then 'no_forecast_yet'
            when red.weeks_with_forecast < thresholds.red_periods then 'insufficient_weeks'
            when red.weeks_over_threshold >= thresholds.red_periods then 'on'
            else 'off'
        end as red_status,
        red.deviation_last_week,
        red.deviation_week_before,
        {{ safe_div('o.tasks_overdue', 'o.tasks_due') }} as csg_overdue_rate,
        coalesce(req.requests_last_month, 0) as requests_last_month,
        coalesce(req.requests_month_before, 0) as requests_month_before,
        {{ safe_div('coalesce(req.requests_last_month, 0) - req.requests_month_before', 'req.requests_month_before') }}
            as request_growth,
        thresholds.yellow_threshold,
        thresholds.green_threshold
    from {{ ref('int_warning_scopes') }} as s
    cross join thresholds
    left join red on s.scope_type = red.scope_type and s.scope_id = red.scope_id
    left join {{ ref('int_csg_overdue') }} as o on s.scope_type = o.scope_type and s.scope_id = o.scope_id
    left join req on s.scope_type = req.scope_type and s.scope_id = req.scope_id
)

select
    scope_type,
    scope_id,
    region,
    red_status,
    red_status = 'on' as red_light,
    {{ rnd('deviation_last_week', 4) }} as forecast_deviation_last_week,
    {{ rnd('deviation_week_before', 4) }} as forecast_deviation_week_before,
    {{ rnd('csg_overdue_rate', 4) }} as csg_overdue_rate,
    coalesce(csg_overdue_rate > yellow_threshold, false) as yellow_light,
    requests_last_month,
    requests_month_before,
    {{ rnd('request_growth', 4) }} as request_growth,
    coalesce(request_growth >= green_threshold, false) as green_light,
    case
        when red_status = 'on' then 'red'
        when csg_overdue_rate > yellow_threshold then 'yellow'
        when request_growth >= green_threshold then 'green'
        else 'none'
    end as headline_colour
from lights
