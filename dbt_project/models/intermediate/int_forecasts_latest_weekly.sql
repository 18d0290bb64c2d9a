-- The forecast each grain (account manager x SKU x channel) has for each week from the newest origin that covers
-- that week (int_forecasts already keeps one run per origin): what forecast accuracy and the warning lights'
-- deviation compare with actual demand. Empty until ml/ lands raw.forecast_predictions.
with ranked as (
    select
        f.*,
        row_number() over (
            partition by f.account_manager_id, f.sku_id, f.channel, f.week_start
            order by f.origin_week desc
        ) as origin_rank
    from {{ ref('int_forecasts') }} as f
)

select
    week_start,
    account_manager_id,
    sku_id,
    channel,
    region,
    y_hat,
    origin_week,
    run_id
from ranked
where origin_rank = 1
