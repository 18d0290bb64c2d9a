-- Training history of the demand forecast, one row per account manager x SKU x channel x week with demand
-- (ml treats absent weeks as zero demand). Hierarchy: SKU -> product line, AM -> cluster -> region.
-- Future-known exogenous columns (read at the target week): promo_flag, discount_pct (planned promotions),
-- price (list price in force), capacity_units (product line capacity plan), material_price_index.
-- Observed-only columns (read as of the forecast origin): email_opens, proposal_downloads (CRM intent
-- signals of the AM's accounts), meeting_sentiment (nlp/, null until intel lands), complaint_heat
-- (complaints about the SKU), health_score (mean customer health of the AM, current period only).
with d as (
    select * from {{ ref('int_demand_weekly') }}
),

promo as (
    select
        d.account_manager_id,
        d.sku_id,
        d.channel,
        d.week_start,
        max(p.discount_rate) as discount_pct
    from d
    inner join {{ ref('stg_erp__promotions') }} as p
        on
            d.sku_id = p.sku_id and d.channel = p.channel
            and p.start_date <= {{ add_days(6, 'd.week_start') }} and d.week_start <= p.end_date
    group by d.account_manager_id, d.sku_id, d.channel, d.week_start
),

sku_weeks as (
    select distinct
        sku_id,
        week_start
    from d
),

price_as_of as (
    select
        w.sku_id,
        w.week_start,
        max(pl.effective_date) as effective_date
    from sku_weeks as w
    inner join
        {{ ref('stg_erp__price_list') }} as pl
        on w.sku_id = pl.sku_id and pl.effective_date <= {{ add_days(6, 'w.week_start') }}
    group by w.sku_id, w.week_start
),

price as (
    select
        a.sku_id,
        a.week_start,
        max(pl.list_price) as price
    from price_as_of as a
    inner join {{ ref('stg_erp__price_list') }} as pl on a.sku_id = pl.sku_id and a.effective_date = pl.effective_date
    group by a.sku_id, a.week_start
),

-- ERP plans dated by their own week start, in the company's weeks (the same dates with the default Monday weeks)
capacity as (
    select
        product_line_id,
        {{ company_week('week_start') }} as week_start,
        sum(capacity_units) as capacity_units
    from {{ ref('stg_erp__capacity') }}
    group by product_line_id, {{ company_week('week_start') }}
),

material_base as (
    select
        material_id,
        min(week_start) as first_week
    from {{ ref('stg_erp__material_prices') }}
    group by material_id
),

material as (
    -- Mean over materials of price / the material's first recorded price: 1.0 = prices at the start of the data.
    select
        {{ company_week('mp.week_start') }} as week_start,
        avg({{ safe_div('mp.price', 'b0.price') }}) as material_price_index
    from {{ ref('stg_erp__material_prices') }} as mp
    inner join material_base as mb on mp.material_id = mb.material_id
    inner join
        {{ ref('stg_erp__material_prices') }} as b0
        on mb.material_id = b0.material_id and mb.first_week = b0.week_start
    group by {{ company_week('mp.week_start') }}
),

intent as (
    select
        a.account_manager_id,
        {{ company_week('s.occurred_at') }} as week_start,
        sum(case when s.signal_type = 'email_open' then 1 else 0 end) as email_opens,
        sum(case when s.signal_type = 'proposal_download' then 1 else 0 end) as proposal_downloads
    from {{ ref('stg_crm__intent_signals') }} as s
    inner join {{ ref('stg_crm__accounts') }} as a on s.account_id = a.account_id
    group by a.account_manager_id, {{ company_week('s.occurred_at') }}
),

sentiment as (
    select
        n.account_manager_id,
        {{ company_week('n.note_date') }} as week_start,
        avg(ns.score) as meeting_sentiment
    from {{ ref('stg_intel__note_sentiment') }} as ns
    inner join {{ ref('stg_crm__meeting_notes') }} as n on ns.note_id = n.note_id
    group by n.account_manager_id, {{ company_week('n.note_date') }}
),

complaints as (
    select
        sku_id,
        {{ company_week('received_at') }} as week_start,
        count(*) as complaint_heat
    from {{ ref('stg_complaints__complaints') }}
    where sku_id is not null
    group by sku_id, {{ company_week('received_at') }}
),

am_customers as (
    select distinct
        account_manager_id,
        customer_id
    from {{ ref('stg_erp__orders') }}
),

health as (
    select
        c.account_manager_id,
        min(h.period_start) as period_start,
        max(h.period_end) as period_end,
        avg(h.health_score) as health_score
    from {{ ref('customer_health') }} as h
    inner join am_customers as c on h.customer_id = c.customer_id
    group by c.account_manager_id
)

select
    d.account_manager_id,
    d.sku_id,
    d.channel,
    d.week_start,
    d.y,
    coalesce(s.product_line_id, 'unassigned') as product_line,
    coalesce(am.cluster_id, 'unassigned') as cluster_id,
    coalesce(am.region, d.territory_region, 'unassigned') as region,
    case when promo.discount_pct is not null then 1.0 else 0.0 end as promo_flag,
    coalesce(promo.discount_pct, 0.0) as discount_pct,
    coalesce(price.price, d.realised_price) as price,
    cast(capacity.capacity_units as {{ type_double() }}) as capacity_units,
    material.material_price_index,
    cast(coalesce(intent.email_opens, 0) as {{ type_double() }}) as email_opens,
    cast(coalesce(intent.proposal_downloads, 0) as {{ type_double() }}) as proposal_downloads,
    sentiment.meeting_sentiment,
    cast(coalesce(complaints.complaint_heat, 0) as {{ type_double() }}) as complaint_heat,
    case when d.week_start between health.period_start and health.period_end then health.health_score end
        as health_score
from d
left join {{ ref('stg_erp__skus') }} as s on d.sku_id = s.sku_id
left join {{ ref('stg_crm__account_managers') }} as am on d.account_manager_id = am.account_manager_id
left join promo
    on
        d.account_manager_id = promo.account_manager_id and d.sku_id = promo.sku_id
        and d.channel = promo.channel and d.week_start = promo.week_start
left join price on d.sku_id = price.sku_id and d.week_start = price.week_start
left join capacity on s.product_line_id = capacity.product_line_id and d.week_start = capacity.week_start
left join material on d.week_start = material.week_start
left join intent on d.account_manager_id = intent.account_manager_id and d.week_start = intent.week_start
left join sentiment on d.account_manager_id = sentiment.account_manager_id and d.week_start = sentiment.week_start
left join complaints on d.sku_id = complaints.sku_id and d.week_start = complaints.week_start
left join health on d.account_manager_id = health.account_manager_id
