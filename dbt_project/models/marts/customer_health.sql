-- Health index (0-100) per customer: 8 indicators weighted by the health_weights seed (weights of indicators
-- with nothing to measure are spread over the others), colour band from health_bands, trend vs the previous period.
{% set inds = ['nps', 'on_time_payment_rate', 'repeat_purchase_penetration', 'ticket_resolution', 'engagement',
               'renewal_proximity', 'complaint_rate', 'usage'] %}
-- The indentation rule misreads jinja loop bodies (and its fix mangles them): off in this file.
-- noqa: disable=LT02
with ind as (
    select * from {{ ref('int_customer_health_indicators') }}
),

weights as (
    select
        {%- for i in inds %}
        coalesce(max(case when indicator = '{{ i }}' then weight end), 0) as w_{{ i }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('health_weights') }}
),

scored as (
    select
        ind.*,
        (
            {%- for i in inds %}
            {{ '+ ' if not loop.first }}coalesce(ind.{{ i }} * w.w_{{ i }}, 0)
            {%- endfor %}
        )
        / nullif(
            {%- for i in inds %}
            {{ '+ ' if not loop.first }}case when ind.{{ i }} is null then 0 else w.w_{{ i }} end
            {%- endfor %},
            0
        )
        * 100 as health_score,
        {%- for i in inds %}
        {{ '+ ' if not loop.first }}case when ind.{{ i }} is null then 0 else 1 end
        {%- endfor %} as indicators_measured
    from ind cross join weights as w
),

current_period as (
    select * from scored
    where period = 'current'
),

previous_period as (
    select * from scored
    where period = 'previous'
)

select
    cur.customer_id,
    cur.period_start,
    cur.period_end,
    {%- for i in inds %}
    {{ rnd('cur.' ~ i, 4) }} as {{ i }},
    {%- endfor %}
    cast(cur.indicators_measured as {{ dbt.type_bigint() }}) as indicators_measured,
    {{ rnd('cur.health_score', 2) }} as health_score,
    cast(b.band as {{ dbt.type_string() }}) as health_band,
    cast(b.colour as {{ dbt.type_string() }}) as health_colour,
    {{ rnd('prev.health_score', 2) }} as previous_health_score,
    {{ rnd('cur.health_score - prev.health_score', 2) }} as health_trend,
    case
        when cur.health_score is null or prev.health_score is null then 'unknown'
        when cur.health_score - prev.health_score > {{ param('health_trend_flat_band') }} then 'up'
        when prev.health_score - cur.health_score > {{ param('health_trend_flat_band') }} then 'down'
        else 'flat'
    end as trend_direction
from current_period as cur
left join previous_period as prev on cur.customer_id = prev.customer_id
left join {{ ref('health_bands') }} as b
    on
        cur.health_score >= b.min_score
        and (cur.health_score < b.max_score or (b.max_score >= 100 and cur.health_score <= b.max_score))
