-- Per customer x KPI x quarter: the customer's own KPI (value-tracking API) against its value in the month the
-- engagement began (CSG creation; first KPI month when the customer has no CSG).
with kpi as (
    select
        k.customer_id,
        k.kpi_name,
        k.kpi_unit,
        k.kpi_month,
        k.kpi_value,
        cast({{ dbt.date_trunc('quarter', 'k.kpi_month') }} as date) as quarter_start
    from {{ ref('stg_value_tracking__customer_kpis') }} as k
),

engagement as (
    select
        k.customer_id,
        coalesce(min(cast({{ dbt.date_trunc('month', 'e.csg_created_date') }} as date)), min(k.kpi_month))
            as engagement_month
    from kpi as k
    left join {{ ref('int_customer_engagement') }} as e on k.customer_id = e.customer_id
    group by k.customer_id
),

baseline as (
    -- The KPI in the engagement month, or the last one before it, or the first one after it.
    select
        customer_id,
        kpi_name,
        baseline_month,
        baseline_value
    from (
        select
            k.customer_id,
            k.kpi_name,
            k.kpi_month as baseline_month,
            k.kpi_value as baseline_value,
            row_number() over (
                partition by k.customer_id, k.kpi_name
                order by
                    case when k.kpi_month <= e.engagement_month then 0 else 1 end,
                    case
                        when
                            k.kpi_month <= e.engagement_month
                            then {{ dbt.datediff('k.kpi_month', 'e.engagement_month', 'day') }}
                        else {{ dbt.datediff('e.engagement_month', 'k.kpi_month', 'day') }}
                    end
            ) as rn
        from kpi as k inner join engagement as e on k.customer_id = e.customer_id
    ) as x
    where rn = 1
),

quarterly as (
    select
        customer_id,
        kpi_name,
        max(kpi_unit) as kpi_unit,
        quarter_start,
        avg(kpi_value) as kpi_value,
        count(*) as months
    from kpi
    group by customer_id, kpi_name, quarter_start
)

select
    q.customer_id,
    q.kpi_name,
    q.kpi_unit,
    q.quarter_start,
    q.months,
    e.engagement_month,
    b.baseline_month,
    {{ rnd('b.baseline_value', 2) }} as baseline_value,
    {{ rnd('q.kpi_value', 2) }} as quarter_value,
    {{ rnd('q.kpi_value - b.baseline_value', 2) }} as change_since_engagement,
    {{ rnd(safe_div('q.kpi_value - b.baseline_value', 'abs(b.baseline_value)') ~ ' * 100', 1) }} as change_pct,
    q.quarter_start >= e.engagement_month as is_after_engagement
from quarterly as q
inner join engagement as e on q.customer_id = e.customer_id
left join baseline as b on q.customer_id = b.customer_id and q.kpi_name = b.kpi_name
