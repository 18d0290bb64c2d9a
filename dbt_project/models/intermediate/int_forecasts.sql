-- Every forecast origin week's rows from its latest run (a partition re-run replaces an origin, but should two
-- runs of one origin ever coexist, the newest counts), flagged when the origin is the newest: the base forecast
-- the scenario engine and the drop alerts start from. Never key on run_id alone: one champion forecasts many
-- origins under one run id.
with predictions as (
    select * from {{ ref('stg_forecast__predictions') }}
),

latest_run_per_origin as (
    select
        origin_week,
        run_id
    from (
        select
            origin_week,
            run_id,
            row_number() over (partition by origin_week order by max(created_at) desc, run_id desc) as run_rank
        from predictions
        group by origin_week, run_id
    ) as ranked_runs
    where run_rank = 1
),

newest_origin as (
    select max(origin_week) as origin_week from predictions
)

select
    p.origin_week,
    p.run_id,
    p.account_manager_id,
    p.sku_id,
    p.channel,
    p.region,
    p.week_start,
    p.y_hat,
    p.hi80,
    p.run_rate,
    p.drivers,
    p.top_drivers,
    p.origin_week = newest_origin.origin_week as is_latest_origin
from predictions as p
inner join latest_run_per_origin using (origin_week, run_id)
cross join newest_origin
