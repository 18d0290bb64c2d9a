-- The seed's five efficiency dimensions for this company, derived from the data in the seed's own unit, against
-- the industry average and the top 10% (efficiency_baselines). A figure the data cannot give yet is null with the
-- reason in `basis`; how each is derived is in efficiency_benchmark.yml. The two dimensions the seed states in words
-- (a cadence, a practice) are numbers on a scale in the seed and get their words back from efficiency_label.
with as_of as (select as_of_date from {{ ref('int_as_of') }}),

manual_records as (
    -- Records the field integrates by hand, per customer: sell-through report lines keyed into CRM (POS already
    -- has them) and the CRM-vs-POS cells the reconciliation flags for a hand check, last 365 days.
    select
        s.customer_id,
        count(*) as records
    from {{ ref('stg_crm__sell_through_reports') }} as r
    inner join {{ ref('stg_pos__stores') }} as s on r.store_id = s.store_id
    cross join as_of
    where r.week_start < as_of.as_of_date and r.week_start >= {{ add_days(-365, 'as_of.as_of_date') }}
    group by s.customer_id
    union all
    select
        c.customer_id,
        count(*) as records
    from {{ ref('crm_pos_reconciliation') }} as c cross join as_of
    where c.is_flagged and c.week_start < as_of.as_of_date and c.week_start >= {{ add_days(-365, 'as_of.as_of_date') }}
    group by c.customer_id
),

integration as (
    select
        {{ safe_div('sum(records) * ' ~ param('manual_record_minutes') ~ ' / 60.0',
                       'count(distinct customer_id) * 12') }} as v,
        count(distinct customer_id) as customers
    from manual_records
    where customer_id is not null
),

customer_months as (
    -- Active customer-months of the last 365 days: an ERP customer counts once in every month it ordered (the
    -- divisor of the two per-customer-per-month figures below).
    select count(*) as n
    from (
        select distinct
            o.customer_id,
            cast({{ dbt.date_trunc('month', 'o.order_date') }} as date) as month_start
        from {{ ref('stg_erp__orders') }} as o cross join as_of
        where
            o.order_status is distinct from 'cancelled'
            and o.order_date < as_of.as_of_date and o.order_date >= {{ add_days(-365, 'as_of.as_of_date') }}
    ) as x
),

response as (
    -- Elapsed open-to-close hours of the CRM tickets opened (and closed) in the last 365 days, summed.
    select sum({{ hours_between('t.opened_at', 't.closed_at') }}) as hours
    from {{ ref('stg_crm__tickets') }} as t cross join as_of
    where
        t.closed_at is not null and cast(t.opened_at as date) < as_of.as_of_date
        and cast(t.opened_at as date) >= {{ add_days(-365, 'as_of.as_of_date') }}
),

proposal as (
    -- Cycle hours of the custom requests made in the last 365 days, summed: from the request to the first won
    -- opportunity of the same account and product line after it (both are dates in CRM: whole days x 24).
    select
        count(*) as requests,
        count(days) as answered,
        sum(days * 24.0) as hours
    from (
        select
            r.request_id,
            min({{ dbt.datediff('r.request_date', 'o.closed_date', 'day') }}) as days
        from {{ ref('stg_crm__custom_requests') }} as r
        cross join as_of
        left join {{ ref('stg_crm__opportunities') }} as o
            on
                r.account_id = o.account_id and r.product_line_id = o.product_line_id
                and o.stage = '赢单' and r.request_date <= o.closed_date and as_of.as_of_date > o.closed_date
        where r.request_date < as_of.as_of_date and r.request_date >= {{ add_days(-365, 'as_of.as_of_date') }}
        group by r.request_id
    ) as x
),

training_days as (
    select distinct cast(trained_at as date) as d from {{ ref('stg_forecast__runs') }}
    where trained_at is not null
),

training_gaps as (
    select {{ dbt.datediff('lag(d) over (order by d)', 'd', 'day') }} as gap_days
    from training_days
),

iteration as (
    select
        (select count(*) from training_days) as days_trained,
        percentile_cont(0.5) within group (order by gap_days) as v
    from training_gaps
    where gap_days is not null
),

last_quarter as (
    select cast({{ dbt.dateadd('month', -3, fiscal_quarter('as_of_date')) }} as date) as quarter_start
    from as_of
),

last_quarter_label as (
    select {{ fiscal_quarter_label('quarter_start') }} as quarter_label
    from last_quarter
),

value_tracking as (
    select
        count(*) as key_customers,
        sum(case when exists (
            select 1 from {{ ref('stg_reports__value_reports') }} as v cross join last_quarter_label as l
            where
                v.customer_id = k.customer_id
                and v.quarter = l.quarter_label
        ) then 1 else 0 end) as reported
    from {{ ref('int_key_customers') }} as k
),

figures as (
    select
        'customer_data_integration' as dimension,
        case when (select customers from integration) = 0 then null else (select v from integration) end
            as company_value,
        case
            when (select customers from integration) = 0 then 'no CRM sell-through reports in the last 365 days'
            else
                'hand-keyed CRM sell-through report lines plus flagged CRM-vs-POS cells per customer per month, '
                || 'last 365 days, x business_parameters.manual_record_minutes'
        end as basis
    union all
    select
        'cross_functional_response' as dimension,
        case
            when (select n from customer_months) > 0
                then coalesce((select hours from response), 0) / (select n from customer_months)
        end as company_value,
        case
            when (select n from customer_months) = 0
                then 'no ERP orders in the last 365 days: no active customers to divide by'
            else
                'elapsed open-to-close hours of the CRM tickets opened and closed in the last 365 days, summed, '
                || '/ active customer-months (an ERP customer counts in each month it ordered)'
        end as basis
    union all
    select
        'custom_proposal_cycle' as dimension,
        case
            when
                (select n from customer_months) > 0
                and ((select requests from proposal) = 0 or (select answered from proposal) > 0)
                then coalesce((select hours from proposal), 0) / (select n from customer_months)
        end as company_value,
        case
            when (select n from customer_months) = 0
                then 'no ERP orders in the last 365 days: no active customers to divide by'
            when (select requests from proposal) > 0 and (select answered from proposal) = 0
                then
                    cast((select requests from proposal) as {{ dbt.type_string() }})
                    || ' custom requests in the last 365 days, none answered yet by a won opportunity of the same '
                    || 'account and product line: no cycle to measure'
            else
                'hours (days x 24) from each custom-solution request of the last 365 days to the first won '
                || 'opportunity of the same account and product line, summed, / active customer-months (an ERP '
                || 'customer counts in each month it ordered); requests not answered yet add nothing'
        end as basis
    union all
    select
        'forecast_model_iteration' as dimension,
        case
            when (select days_trained from iteration) < 2 then null else (select v from iteration)
        end as company_value,
        case
            when
                (select days_trained from iteration) = 0
                then 'no forecast training runs yet (raw.forecast_runs empty or absent)'
            when
                (select days_trained from iteration) = 1
                then 'one forecast training day in raw.forecast_runs so far: a cadence needs two'
            else 'median days between forecast training days in raw.forecast_runs'
        end as basis
    union all
    select
        'value_tracking' as dimension,
        case
            when (select key_customers from value_tracking) = 0 then null
            else {{ safe_div('(select reported from value_tracking)', '(select key_customers from value_tracking)') }}
        end as company_value,
        case
            when (select key_customers from value_tracking) = 0 then 'no key customers (int_key_customers is empty)'
            else
                'share of key customers (int_key_customers) with a value report for the last complete quarter in '
                || 'raw.value_reports'
        end as basis
)

select
    cast(b.dimension as {{ dbt.type_string() }}) as dimension,
    cast(b.unit as {{ dbt.type_string() }}) as unit,
    b.lower_is_better,
    {{ rnd('f.company_value', 2) }} as company_value,
    case
        when b.dimension in ('forecast_model_iteration', 'value_tracking')
            then coalesce({{ efficiency_label('b.dimension', 'f.company_value') }}, 'not measurable yet')
    end as company_label,
    b.industry_average,
    b.top_10_percent,
    {{ efficiency_label('b.dimension', 'b.industry_average') }} as industry_average_label,
    {{ efficiency_label('b.dimension', 'b.top_10_percent') }} as top_10_percent_label,
    -- Position between the industry average (0) and the top 10% (1); above 1 beats the top 10%.
    {{ rnd(safe_div('f.company_value - b.industry_average', 'b.top_10_percent - b.industry_average'), 3) }}
        as gap_closed,
    f.basis
from {{ ref('efficiency_baselines') }} as b
left join figures as f on b.dimension = f.dimension
