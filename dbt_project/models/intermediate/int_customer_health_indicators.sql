-- The 8 health indicators (each in [0, 1], higher is healthier, null when there is nothing to measure)
-- per ERP customer for the current period and the one before it (period length: business parameter).
with periods as (
    select
        'current' as period,
        {{ add_days('-cast(' ~ param('health_period_days') ~ ' as integer)', 'as_of_date') }} as period_start,
        as_of_date as period_end
    from {{ ref('int_as_of') }}
    union all
    select
        'previous' as period,
        {{ add_days('-2 * cast(' ~ param('health_period_days') ~ ' as integer)', 'as_of_date') }} as period_start,
        {{ add_days('-cast(' ~ param('health_period_days') ~ ' as integer)', 'as_of_date') }} as period_end
    from {{ ref('int_as_of') }}
),

acc as (select * from {{ ref('int_customer_accounts') }}),

base as (
    select
        c.customer_id,
        acc.account_id,
        p.period,
        p.period_start,
        p.period_end
    from {{ ref('stg_erp__customers') }} as c
    left join acc on c.customer_id = acc.customer_id
    cross join periods as p
),

nps as (
    select
        b.customer_id,
        b.period,
        avg(n.nps_score) / 10.0 as nps
    from base as b inner join {{ ref('stg_crm__nps') }} as n
        on b.account_id = n.account_id and b.period_start <= n.survey_date and b.period_end > n.survey_date
    group by b.customer_id, b.period
),

pay as (
    select
        b.customer_id,
        b.period,
        {%- set paid_on_time = 'sum(case when p.paid_date is not null and p.paid_date <= p.due_date '
                               ~ 'then 1 else 0 end)' %}
        {{ safe_div(paid_on_time, 'count(*)') }} as on_time_payment_rate
    from base as b inner join {{ ref('stg_erp__payments') }} as p
        on b.customer_id = p.customer_id and b.period_start <= p.due_date and b.period_end > p.due_date
    group by b.customer_id, b.period
),

sku_weeks as (
    select
        b.customer_id,
        b.period,
        o.sku_id,
        count(distinct {{ week_of('o.order_date') }}) as weeks,
        sum(o.quantity) as units,
        count(*) as lines
    from base as b inner join {{ ref('stg_erp__orders') }} as o
        on
            b.customer_id = o.customer_id and b.period_start <= o.order_date and b.period_end > o.order_date
            and o.order_status is distinct from 'cancelled'
    group by b.customer_id, b.period, o.sku_id
),

repeat_buy as (
    select
        customer_id,
        period,
        {{ safe_div('sum(case when weeks >= 2 then 1 else 0 end)', 'count(*)') }} as repeat_purchase_penetration,
        sum(units) as units,
        sum(lines) as order_lines
    from sku_weeks
    group by customer_id, period
),

prior_year as (
    select
        b.customer_id,
        b.period,
        sum(o.quantity) as units_prior_year
    from base as b inner join {{ ref('stg_erp__orders') }} as o
        on
            b.customer_id = o.customer_id and o.order_status is distinct from 'cancelled'
            and o.order_date >= {{ add_days(-365, 'b.period_start') }} and b.period_start > o.order_date
    group by b.customer_id, b.period
),

tickets as (
    select
        b.customer_id,
        b.period,
        {%- set within_sla = 't.closed_at is not null and ' ~ hours_between('t.opened_at', 't.closed_at')
                             ~ ' <= ' ~ param('ticket_sla_hours') %}
        {{ safe_div('sum(case when ' ~ within_sla ~ ' then 1 else 0 end)', 'count(*)') }} as ticket_resolution,
        sum(case when t.category in ('质量问题', '退换货') then 1 else 0 end) as complaints
    from base as b inner join {{ ref('stg_crm__tickets') }} as t
        on
            b.account_id = t.account_id
            and cast(t.opened_at as date) >= b.period_start
            and cast(t.opened_at as date) < b.period_end
    group by b.customer_id, b.period
),

crm_touches as (
    -- account-manager visits and intent signals, one row per touch
    select
        account_id,
        visit_date as touch_date
    from {{ ref('stg_crm__visits') }}
    union all
    select
        account_id,
        cast(occurred_at as date) as touch_date
    from {{ ref('stg_crm__intent_signals') }}
),

touch as (
    select
        b.customer_id,
        b.period,
        count(*) as touches
    from base as b inner join crm_touches as ct
        on b.account_id = ct.account_id and b.period_start <= ct.touch_date and b.period_end > ct.touch_date
    group by b.customer_id, b.period
),

last_win as (
    select
        b.customer_id,
        b.period,
        max(o.closed_date) as last_won_date
    from base as b inner join {{ ref('stg_crm__opportunities') }} as o
        on b.account_id = o.account_id and o.stage = '赢单' and b.period_end > o.closed_date
    group by b.customer_id, b.period
)

select
    b.customer_id,
    b.period,
    b.period_start,
    b.period_end,
    n.nps,
    p.on_time_payment_rate,
    r.repeat_purchase_penetration,
    t.ticket_resolution,
    case
        when b.account_id is null then null
        else {{ clamp(safe_div('coalesce(tc.touches, 0)', param('engagement_target_per_period'))) }}
    end as engagement,
    case
        when lw.last_won_date is null then null
        else
            {%- set days_since_win = dbt.datediff('lw.last_won_date', 'b.period_end', 'day') %}
            {{ clamp(safe_div('365 - (' ~ days_since_win ~ ') % 365', param('renewal_horizon_days'))) }}
    end as renewal_proximity,
    case
        when coalesce(r.order_lines, 0) = 0 then null
        else 1 - {{ clamp(safe_div('coalesce(t.complaints, 0)', 'r.order_lines')) }}
    end as complaint_rate,
    {%- set period_share_of_year = safe_div(dbt.datediff('b.period_start', 'b.period_end', 'day'), 365) %}
    {{ clamp(safe_div('coalesce(r.units, 0)', 'py.units_prior_year * ' ~ period_share_of_year)) }} as usage
from base as b
left join nps as n on b.customer_id = n.customer_id and b.period = n.period
left join pay as p on b.customer_id = p.customer_id and b.period = p.period
left join repeat_buy as r on b.customer_id = r.customer_id and b.period = r.period
left join prior_year as py on b.customer_id = py.customer_id and b.period = py.period
left join tickets as t on b.customer_id = t.customer_id and b.period = t.period
left join touch as tc on b.customer_id = tc.customer_id and b.period = tc.period
left join last_win as lw on b.customer_id = lw.customer_id and b.period = lw.period
