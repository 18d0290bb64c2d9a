-- Customer drop alerts (raw.alerts from ml.alerts) with the customer's name, industry, region and tier: the next
-- month's forecast >= 40% below the 13-week run-rate, the main driver, three substitutes and the solution pack.
select
    a.customer_id,
    c.legal_name,
    c.industry,
    c.region,
    c.tier,
    a.as_of,
    {{ rnd('a.run_rate_month', 2) }} as run_rate_month,
    {{ rnd('a.forecast_next_month', 2) }} as forecast_next_month,
    a.drop_pct,
    a.main_driver,
    a.reason,
    a.substitutes,
    a.solution_pack,
    a.contributions
from {{ ref('stg_ml__alerts') }} as a
left join {{ ref('stg_erp__customers') }} as c on a.customer_id = c.customer_id
