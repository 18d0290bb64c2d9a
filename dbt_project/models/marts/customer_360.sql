-- One row per ERP customer: master data, CRM account and how it was matched, orders, POS sell-through,
-- distributor stock, payments, NPS, tickets, intent signals, CSG membership, complexity and health.
with pos as (
    select
        st.customer_id,
        cast(sum(w.pos_units) as {{ dbt.type_bigint() }}) as pos_units_90d,
        count(distinct st.store_id) as stores
    from {{ ref('int_pos_weekly') }} as w
    inner join {{ ref('stg_pos__stores') }} as st on w.store_id = st.store_id
    cross join {{ ref('int_as_of') }} as a
    where w.week_start >= {{ add_days(-91, 'a.as_of_date') }}
    group by st.customer_id
),

dist_latest as (
    -- a join on the grouped max, not a correlated subquery: PostgreSQL re-runs a correlated max once per
    -- stock row (quadratic; at --scale 10 it kept this model running for more than 35 min)
    select
        distributor_id,
        max(snapshot_date) as snapshot_date
    from {{ ref('stg_distributor__inventory') }}
    group by distributor_id
),

dist as (
    select
        d.distributor_id as customer_id,
        cast(sum(d.on_hand) as {{ dbt.type_bigint() }}) as distributor_on_hand,
        cast(sum(d.in_transit) as {{ dbt.type_bigint() }}) as distributor_in_transit,
        max(d.snapshot_date) as distributor_snapshot_date
    from {{ ref('stg_distributor__inventory') }} as d
    inner join dist_latest as l on d.distributor_id = l.distributor_id and d.snapshot_date = l.snapshot_date
    group by d.distributor_id
),

pay as (
    select
        p.customer_id,
        sum(case when p.payment_status in ('open', 'overdue') then p.invoice_amount - p.paid_amount else 0 end)
            as open_receivables,
        sum(case when p.payment_status = 'overdue' then p.invoice_amount - p.paid_amount else 0 end)
            as overdue_receivables
    from {{ ref('stg_erp__payments') }} as p
    group by p.customer_id
),

intel_docs as (
    -- documents processed in the last 90 days that name the customer, and their facts by direction
    select distinct
        f.linked_customer_id as customer_id,
        f.doc_id
    from {{ ref('stg_intel__facts') }} as f
    inner join {{ ref('stg_intel__documents') }} as d on f.doc_id = d.doc_id
    cross join {{ ref('int_as_of') }} as a
    where f.linked_customer_id is not null and cast(d.processed_at as date) >= {{ add_days(-90, 'a.as_of_date') }}
),

intel as (
    select
        x.customer_id,
        count(distinct x.doc_id) as intel_documents_90d,
        cast(sum(ii.facts) as {{ dbt.type_bigint() }}) as intel_facts_90d,
        cast(sum(case when ii.direction = 'tailwind' then ii.facts else 0 end) as {{ dbt.type_bigint() }})
            as policy_tailwinds_90d,
        cast(sum(case when ii.direction = 'headwind' then ii.facts else 0 end) as {{ dbt.type_bigint() }})
            as policy_headwinds_90d
    from intel_docs as x
    left join {{ ref('industry_intel') }} as ii on x.doc_id = ii.doc_id
    group by x.customer_id
),

intel_notes as (
    select
        acc.customer_id,
        cast(sum(case when s.sentiment = 'negative' then 1 else 0 end) as {{ dbt.type_bigint() }})
            as negative_notes_180d,
        count(*) as scored_notes_180d
    from {{ ref('stg_intel__note_sentiment') }} as s
    inner join {{ ref('stg_crm__meeting_notes') }} as m on s.note_id = m.note_id
    inner join {{ ref('int_customer_accounts') }} as acc on m.account_id = acc.account_id
    cross join {{ ref('int_as_of') }} as a
    where m.note_date < a.as_of_date and m.note_date >= {{ add_days(-180, 'a.as_of_date') }}
    group by acc.customer_id
),

complaint_heat as (
    select
        h.customer_id,
        sum(h.complaint_heat) as complaint_heat_90d
    from {{ ref('stg_intel__complaint_heat') }} as h cross join {{ ref('int_as_of') }} as a
    where h.week_start < a.as_of_date and h.week_start >= {{ add_days(-91, 'a.as_of_date') }}
    group by h.customer_id
)

select
    c.customer_id,
    c.legal_name,
    c.credit_code,
    c.industry,
    c.channel,
    c.province,
    c.city,
    c.region,
    c.tier,
    c.payment_terms_days,
    e.account_id,
    a.account_name as crm_account_name,
    coalesce(e.match_rule, 'unmatched') as crm_match_rule,
    a.account_manager_id,
    a.cluster_id,
    coalesce(o.purchase_amount_365d, 0) as purchase_amount_365d,
    -- the company file's currency (lodestar.yaml `currency`, passed as a dbt var; the demo's is CNY)
    cast('{{ var("lodestar_currency", "CNY") }}' as {{ dbt.type_string() }}) as currency,
    coalesce(o.orders_365d, 0) as orders_365d,
    coalesce(o.skus_365d, 0) as skus_365d,
    o.last_order_date,
    coalesce(pos.stores, 0) as pos_stores,
    pos.pos_units_90d,
    dist.distributor_on_hand,
    dist.distributor_in_transit,
    coalesce(pay.open_receivables, 0) as open_receivables,
    coalesce(pay.overdue_receivables, 0) as overdue_receivables,
    cast(e.nps_score_365d as {{ type_double() }}) as nps_score_365d,
    coalesce(e.tickets_365d, 0) as tickets_365d,
    cast(coalesce(e.open_tickets, 0) as {{ dbt.type_bigint() }}) as open_tickets,
    -- No e-mail send log exists: the "open rate" is opens per contact per 30 days.
    {{ rnd(safe_div('e.email_opens_90d', 'e.contacts') ~ ' / 3.0', 3) }} as email_open_rate,
    {{ rnd('e.proposal_downloads_90d / 3.0', 3) }} as proposal_downloads_per_month,
    e.meeting_sentiment_180d as meeting_sentiment_score,
    e.csg_id,
    e.csg_id is not null as is_csg_member,
    cx.complexity_score,
    h.health_score,
    h.health_colour,
    h.trend_direction as health_trend_direction,
    coalesce(intel.intel_documents_90d, 0) as intel_documents_90d,
    coalesce(intel.intel_facts_90d, 0) as intel_facts_90d,
    coalesce(intel.policy_tailwinds_90d, 0) as policy_tailwinds_90d,
    coalesce(intel.policy_headwinds_90d, 0) as policy_headwinds_90d,
    intel_notes.negative_notes_180d,
    intel_notes.scored_notes_180d,
    coalesce(complaint_heat.complaint_heat_90d, 0) as complaint_heat_90d
from {{ ref('stg_erp__customers') }} as c
left join {{ ref('int_customer_engagement') }} as e on c.customer_id = e.customer_id
left join {{ ref('stg_crm__accounts') }} as a on e.account_id = a.account_id
left join {{ ref('int_customer_orders') }} as o on c.customer_id = o.customer_id
left join pos on c.customer_id = pos.customer_id
left join dist on c.customer_id = dist.customer_id
left join pay on c.customer_id = pay.customer_id
left join {{ ref('customer_complexity') }} as cx on c.customer_id = cx.customer_id
left join {{ ref('customer_health') }} as h on c.customer_id = h.customer_id
left join intel on c.customer_id = intel.customer_id
left join intel_notes on c.customer_id = intel_notes.customer_id
left join complaint_heat on c.customer_id = complaint_heat.customer_id
