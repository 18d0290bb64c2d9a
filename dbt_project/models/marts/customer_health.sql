-- Health index (0-100) per customer: 8 indicators weighted by the health_weights seed (weights of indicators
-- with nothing to measure are spread over the others), colour band from health_bands, trend vs the previous period.
{% set inds = ['nps', 'on_time_payment_rate', 'repeat_purchase_penetration', 'ticket_resolution', 'engagement',
               'renewal_proximity', 'complaint_rate', 'usage'] %}
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
        ({%- for i in inds %} coalesce(ind.{{ i }} * w.w_{{ i }}, 0){{ ' + ' if not loop.last }}{%- endfor %})
        / nullif({%- for i in inds %} case when ind.{{ i }} is null then 0 else w.w_{{ i }} end{{ ' + ' if not loop.last }}{%- endfor %}, 0)
        * 100 as health_score,
        {%- for i in inds %} case when ind.{{ i }} is null then 0 else 1 end{{ ' + ' if not loop.last }}{%- endfor %} as indicators_measured
    from ind cross join weights w
),
cur as (select * from scored where period = 'current'),
prev as (select * from scored where period = 'previous')
select
    cur.customer_id,
    cur.period_start,
    cur.period_end,
    {%- for i in inds %}
    {{ rnd('cur.' ~ i, 4) }} as {{ i }},
    {%- endfor %}
    cur.indicators_measured,
    {{ rnd('cur.health_score', 2) }} as health_score,
    b.band as health_band,
    b.colour as health_colour,
    {{ rnd('prev.health_score', 2) }} as previous_health_score,
    {{ rnd('cur.health_score - prev.health_score', 2) }} as health_trend,
    case when cur.health_score is null or prev.health_score is null then 'unknown'
         when cur.health_score - prev.health_score > {{ param('health_trend_flat_band') }} then 'up'
         when prev.health_score - cur.health_score > {{ param('health_trend_flat_band') }} then 'down'
         else 'flat' end as trend_direction
from cur
left join prev on prev.customer_id = cur.customer_id
left join {{ ref('health_bands') }} b
  on cur.health_score >= b.min_score
 and (cur.health_score < b.max_score or (b.max_score >= 100 and cur.health_score <= b.max_score))
