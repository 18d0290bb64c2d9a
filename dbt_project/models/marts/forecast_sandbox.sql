-- Forecast sandbox (A/B) over time: per month x sandbox customer x arm (traditional or model) the forecast, the
-- actuals and errors once they are in, which arm forecast the customer better that month, and the lever value
-- the model arm's errors recalibrated (carried from month to month). Rows of the month still waiting for its
-- actuals have status actuals_not_yet_in and null errors.
with s as (
    select * from {{ ref('stg_forecast__sandbox') }}
),

paired as (
    select
        s.*,
        max(case when s.arm = 'model' then s.wape end) over (partition by s.month, s.customer_id) as model_wape,
        max(case when s.arm = 'traditional' then s.wape end)
            over (partition by s.month, s.customer_id)
            as traditional_wape
    from s
)

select
    p.month,
    p.customer_id,
    c.legal_name,
    p.arm,
    p.status,
    p.origin_week,
    p.series_count,
    {{ rnd('p.forecast_total', 2) }} as forecast_total,
    {{ rnd('p.actual_total', 2) }} as actual_total,
    {{ rnd('p.wape', 4) }} as wape,
    {{ rnd('p.bias', 4) }} as bias,
    case
        when p.model_wape is null or p.traditional_wape is null then null
        when p.model_wape < p.traditional_wape then 'model'
        when p.traditional_wape < p.model_wape then 'traditional'
        else 'tie'
    end as better_arm,
    p.calibrated_lever,
    p.lever_value_before,
    {{ rnd('p.calibrated_value', 4) }} as calibrated_value,
    p.calibration_error_before,
    p.calibration_error_after,
    p.n_obs
from paired as p
left join {{ ref('stg_erp__customers') }} as c on p.customer_id = c.customer_id
