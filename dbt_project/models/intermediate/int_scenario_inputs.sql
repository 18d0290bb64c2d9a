-- The scenario engine's frame (ml/scenario.py): one row per grain (account manager x SKU x channel) and week of
-- the latest base forecast, with every lever-aware input. Observed inputs come from the weeks before the first
-- forecast week (`forecast_window.first_week`). A driver input whose source has no rows for a grain is null:
-- the engine reads null as neutral, and a driver column that is null everywhere was not read at all.
with forecast as (
    select
        account_manager_id,
        sku_id,
        channel,
        region,
        week_start,
        y_hat,
        run_id
    from {{ ref('int_forecasts') }}
    where is_latest_origin
),

forecast_window as (
    select
        min(week_start) as first_week,
        {{ add_days(6, 'max(week_start)') }} as horizon_end
    from forecast
),

forecast_sku_weeks as (
    select distinct
        sku_id,
        week_start
    from forecast
),

customers as (
    select
        customer_id,
        tier
    from {{ ref('stg_erp__customers') }}
),

accounts as (
    select
        account_id,
        account_manager_id,
        erp_customer_id
    from {{ ref('stg_crm__accounts') }}
),

skus as (
    select
        sku_id,
        product_line_id as product_line,
        launch_date,
        lead_time_days
    from {{ ref('int_skus') }}
),

orders_last_year as (
    select
        o.account_manager_id,
        o.sku_id,
        o.channel,
        o.customer_id,
        o.order_date,
        o.ship_date,
        o.quantity
    from {{ ref('int_order_lines') }} as o
    cross join forecast_window
    where o.order_date >= {{ add_days(-364, 'forecast_window.first_week') }}
),

-- key-account (tier A) share of the grain's units and their mean order-to-ship days since a year before
key_account_orders as (
    select
        o.account_manager_id,
        o.sku_id,
        o.channel,
        sum(o.quantity) filter (where c.tier = 'A') / nullif(sum(o.quantity), 0) as key_share,
        avg({{ dbt.datediff('o.order_date', 'o.ship_date', 'day') }}) filter (where c.tier = 'A') as delivery_delay_days
    from orders_last_year as o
    inner join customers as c using (customer_id)
    group by o.account_manager_id, o.sku_id, o.channel
),

-- each customer's share of its grain's units in the 52 weeks before the forecast: weights customer-level inputs
customer_shares as (
    select
        account_manager_id,
        sku_id,
        channel,
        customer_id,
        units / nullif(sum(units) over (partition by account_manager_id, sku_id, channel), 0) as share
    from (
        select
            o.account_manager_id,
            o.sku_id,
            o.channel,
            o.customer_id,
            sum(greatest(o.quantity, 0)) as units
        from orders_last_year as o
        cross join forecast_window
        where o.order_date < forecast_window.first_week
        group by o.account_manager_id, o.sku_id, o.channel, o.customer_id
    ) as customer_units
),

promotions_in_week as (
    select
        f.account_manager_id,
        f.sku_id,
        f.channel,
        f.week_start,
        max(p.expected_lift) as promo_lift,
        min({{ whole_weeks_between('p.start_date', 'f.week_start') }}) as weeks_since_promo_start
    from forecast as f
    inner join {{ ref('stg_erp__promotions') }} as p
        on
            f.sku_id = p.sku_id and f.channel = p.channel
            and f.week_start between p.start_date and p.end_date
    group by f.account_manager_id, f.sku_id, f.channel, f.week_start
),

prices as (
    select
        sku_id,
        effective_date,
        list_price
    from {{ ref('stg_erp__price_list') }}
),

-- the list price in force in each forecast week, and the one in force in the first forecast week
price_in_week as (
    select
        sku_id,
        week_start,
        list_price
    from (
        select
            w.sku_id,
            w.week_start,
            p.list_price,
            row_number() over (partition by w.sku_id, w.week_start order by p.effective_date desc) as price_rank
        from forecast_sku_weeks as w
        inner join prices as p on w.sku_id = p.sku_id and w.week_start >= p.effective_date
    ) as ranked_prices
    where price_rank = 1
),

price_at_first_week as (
    select
        sku_id,
        list_price
    from (
        select
            p.sku_id,
            p.list_price,
            row_number() over (partition by p.sku_id order by p.effective_date desc) as price_rank
        from prices as p
        cross join forecast_window
        where p.effective_date <= forecast_window.first_week
    ) as ranked_prices
    where price_rank = 1
),

relative_prices as (
    select
        w.sku_id,
        w.week_start,
        w.list_price / nullif(o.list_price, 0) as price_rel
    from price_in_week as w
    inner join price_at_first_week as o using (sku_id)
),

-- ERP plans dated by their own week start, in the company's weeks (the same dates with the default Monday weeks)
material_prices as (
    select
        material_id,
        {{ company_week('week_start') }} as week_start,
        price
    from {{ ref('stg_erp__material_prices') }}
    where price > 0
),

-- per BOM line of a forecast SKU, the material price of the week (planned, else the last known)
bom_line_prices as (
    select
        sku_id,
        week_start,
        material_id,
        qty,
        price_now
    from (
        select
            w.sku_id,
            w.week_start,
            b.bom_line_id,
            b.material_id,
            cast(b.qty_per_unit as {{ type_double() }}) as qty,
            mp.price as price_now,
            row_number() over (
                partition by w.sku_id, w.week_start, b.bom_line_id
                order by mp.week_start desc
            ) as price_rank
        from forecast_sku_weeks as w
        inner join {{ ref('stg_erp__bom') }} as b on w.sku_id = b.sku_id
        inner join material_prices as mp on b.material_id = mp.material_id and w.week_start >= mp.week_start
    ) as ranked_prices
    where price_rank = 1 and qty > 0
),

-- each material's mean price over the 13 weeks before the forecast
material_reference_prices as (
    select
        mp.material_id,
        avg(cast(mp.price as {{ type_double() }})) as ref_price
    from material_prices as mp
    cross join forecast_window
    where
        mp.week_start >= {{ add_days(-91, 'forecast_window.first_week') }}
        and mp.week_start < forecast_window.first_week
    group by mp.material_id
),

-- BOM cost of the SKU at the week's material prices over its cost at the reference prices
material_price_indices as (
    select
        l.sku_id,
        l.week_start,
        case when sum(l.qty * r.ref_price) > 0 then sum(l.qty * l.price_now) / sum(l.qty * r.ref_price) end
            as material_price_index
    from bom_line_prices as l
    inner join material_reference_prices as r using (material_id)
    group by l.sku_id, l.week_start
),

line_capacity as (
    select
        product_line_id,
        {{ company_week('week_start') }} as week_start,
        sum(capacity_units) as capacity
    from {{ ref('stg_erp__capacity') }}
    group by product_line_id, {{ company_week('week_start') }}
),

-- a week beyond the capacity plan gets the line's median of the 13 weeks before the forecast
line_capacity_median as (
    select
        c.product_line_id,
        percentile_cont(0.5) within group (order by c.capacity) as capacity_median
    from line_capacity as c
    cross join forecast_window
    where
        c.week_start >= {{ add_days(-91, 'forecast_window.first_week') }}
        and c.week_start < forecast_window.first_week
    group by c.product_line_id
),

-- the line's capacity of the week split to the grain by its share of the line's forecast that week
grain_capacity as (
    select
        f.account_manager_id,
        f.sku_id,
        f.channel,
        f.week_start,
        coalesce(c.capacity, m.capacity_median) * greatest(f.y_hat, 0)
        / nullif(sum(greatest(f.y_hat, 0)) over (partition by s.product_line, f.week_start), 0) as capacity_units
    from forecast as f
    inner join skus as s using (sku_id)
    left join line_capacity as c on s.product_line = c.product_line_id and f.week_start = c.week_start
    left join line_capacity_median as m on s.product_line = m.product_line_id
    where s.product_line is not null
),

weekly_intent_signals as (
    select
        a.account_manager_id,
        {{ company_week('s.occurred_at') }} as week_start,
        cast(count(*) as {{ type_double() }}) as n
    from {{ ref('stg_crm__intent_signals') }} as s
    inner join accounts as a using (account_id)
    cross join forecast_window
    where
        {{ as_date('s.occurred_at') }} >= {{ add_days(-364, 'forecast_window.first_week') }}
        and {{ as_date('s.occurred_at') }} < forecast_window.first_week
    group by a.account_manager_id, {{ company_week('s.occurred_at') }}
),

-- the manager's last-4-weeks signal rate standardised against its own 52 weeks (z-score; only a rise counts)
manager_intent as (
    select
        s.account_manager_id,
        greatest(0.0, (
            coalesce(sum(s.n) filter (where s.week_start >= {{ add_days(-28, 'w.first_week') }}), 0) / 4.0
            - sum(s.n) / 52.0
        )
        / nullif(sqrt(greatest(sum(s.n * s.n) / 52.0 - power(sum(s.n) / 52.0, 2), 0.0)), 0)) as intent_score
    from weekly_intent_signals as s
    cross join forecast_window as w
    group by s.account_manager_id, w.first_week
),

-- weekly heat of the customer's competitor-naming complaints over the 4 weeks before the forecast
customer_complaint_heat as (
    select
        h.customer_id,
        coalesce(sum(h.complaint_heat) filter (where h.competitor_mentions > 0), 0) / 4.0 as heat
    from {{ ref('stg_intel__complaint_heat') }} as h
    cross join forecast_window
    where
        h.week_start >= {{ add_days(-28, 'forecast_window.first_week') }} and h.week_start < forecast_window.first_week
    group by h.customer_id
),

grain_complaint_heat as (
    select
        s.account_manager_id,
        s.sku_id,
        s.channel,
        sum(s.share * h.heat) as complaint_heat
    from customer_shares as s
    inner join customer_complaint_heat as h using (customer_id)
    group by s.account_manager_id, s.sku_id, s.channel
),

-- churn risk: demand-weighted health band weight of the grain's customers (red 1, yellow/amber 0.5, green 0)
grain_health as (
    select
        s.account_manager_id,
        s.sku_id,
        s.channel,
        sum(s.share * case lower(
            h.health_colour)
            when 'red' then 1.0 when 'yellow' then 0.5
            when 'amber' then 0.5 else 0.0
        end) as health_band_weight
    from customer_shares as s
    inner join {{ ref('customer_health') }} as h using (customer_id)
    group by s.account_manager_id, s.sku_id, s.channel
),

-- open opportunities of ERP customers expected to close within the forecast horizon, by product line
open_projects as (
    select distinct
        a.erp_customer_id as customer_id,
        o.product_line_id
    from {{ ref('stg_crm__opportunities') }} as o
    inner join accounts as a using (account_id)
    cross join forecast_window
    where
        o.closed_date is null and a.erp_customer_id is not null
        and o.expected_close_date between forecast_window.first_week and forecast_window.horizon_end
),

-- share of the grain's tier-A units from customers with such a project on the SKU's product line (null, i.e.
-- neutral, where none has one)
grain_project_share as (
    select
        s.account_manager_id,
        s.sku_id,
        s.channel,
        sum(s.share) filter (where p.customer_id is not null) / nullif(sum(s.share), 0) as project_share
    from customer_shares as s
    inner join customers as c using (customer_id)
    inner join skus as k using (sku_id)
    left join open_projects as p on s.customer_id = p.customer_id and k.product_line = p.product_line_id
    where c.tier = 'A'
    group by s.account_manager_id, s.sku_id, s.channel
)

select
    f.account_manager_id,
    f.sku_id,
    f.channel,
    f.region,
    f.week_start,
    f.y_hat,
    f.run_id,
    s.product_line,
    case
        when {{ whole_weeks_between('s.launch_date', 'f.week_start') }} between 0 and 51
            then {{ whole_weeks_between('s.launch_date', 'f.week_start') }}
    end as weeks_since_launch,
    coalesce(s.lead_time_days, {{ var('default_lead_time_days') }}) as lead_time_days,
    k.key_share,
    greatest(k.delivery_delay_days, 0) as delivery_delay_days,
    p.promo_lift,
    p.weeks_since_promo_start,
    r.price_rel,
    m.material_price_index,
    j.project_share,
    c.capacity_units,
    i.intent_score,
    h.complaint_heat,
    b.health_band_weight
from forecast as f
left join skus as s on f.sku_id = s.sku_id
left join key_account_orders as k
    on f.account_manager_id = k.account_manager_id and f.sku_id = k.sku_id and f.channel = k.channel
left join promotions_in_week as p
    on
        f.account_manager_id = p.account_manager_id and f.sku_id = p.sku_id and f.channel = p.channel
        and f.week_start = p.week_start
left join relative_prices as r on f.sku_id = r.sku_id and f.week_start = r.week_start
left join material_price_indices as m on f.sku_id = m.sku_id and f.week_start = m.week_start
left join grain_capacity as c
    on
        f.account_manager_id = c.account_manager_id and f.sku_id = c.sku_id and f.channel = c.channel
        and f.week_start = c.week_start
left join manager_intent as i on f.account_manager_id = i.account_manager_id
left join grain_complaint_heat as h
    on f.account_manager_id = h.account_manager_id and f.sku_id = h.sku_id and f.channel = h.channel
left join grain_health as b
    on f.account_manager_id = b.account_manager_id and f.sku_id = b.sku_id and f.channel = b.channel
left join grain_project_share as j
    on f.account_manager_id = j.account_manager_id and f.sku_id = j.sku_id and f.channel = j.channel
