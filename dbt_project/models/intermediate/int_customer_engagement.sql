-- Per ERP customer: CRM engagement and intent signals over the 90 days before the as-of date, contacts,
-- tickets, custom requests, NPS and (once nlp/ lands raw.intel_note_sentiment) meeting-note sentiment.
with as_of as (select as_of_date from {{ ref('int_as_of') }}),

acc as (select * from {{ ref('int_customer_accounts') }}),

contacts as (
    select
        account_id,
        count(*) as contacts,
        sum(case when is_decision_maker then 1 else 0 end) as decision_makers
    from {{ ref('stg_crm__contacts') }}
    group by account_id
),

signals as (
    select
        s.account_id,
        sum(case when s.signal_type = 'email_open' then 1 else 0 end) as email_opens_90d,
        sum(case when s.signal_type = 'proposal_download' then 1 else 0 end) as proposal_downloads_90d,
        sum(case when s.signal_type = 'site_visit' then 1 else 0 end) as site_visits_90d
    from {{ ref('stg_crm__intent_signals') }} as s cross join as_of
    where
        cast(s.occurred_at as date) < as_of.as_of_date
        and cast(s.occurred_at as date) >= {{ add_days(-90, 'as_of.as_of_date') }}
    group by s.account_id
),

visits as (
    select
        v.account_id,
        count(*) as visits_90d
    from {{ ref('stg_crm__visits') }} as v cross join as_of
    where v.visit_date < as_of.as_of_date and v.visit_date >= {{ add_days(-90, 'as_of.as_of_date') }}
    group by v.account_id
),

tickets as (
    select
        t.account_id,
        count(*) as tickets_365d,
        sum(case when t.ticket_status = 'open' then 1 else 0 end) as open_tickets
    from {{ ref('stg_crm__tickets') }} as t cross join as_of
    where
        cast(t.opened_at as date) < as_of.as_of_date
        and cast(t.opened_at as date) >= {{ add_days(-365, 'as_of.as_of_date') }}
    group by t.account_id
),

requests as (
    select
        r.account_id,
        count(*) as custom_requests_730d
    from {{ ref('stg_crm__custom_requests') }} as r cross join as_of
    where r.request_date < as_of.as_of_date and r.request_date >= {{ add_days(-730, 'as_of.as_of_date') }}
    group by r.account_id
),

nps as (
    select
        n.account_id,
        avg(n.nps_score) as nps_score_365d
    from {{ ref('stg_crm__nps') }} as n cross join as_of
    where n.survey_date < as_of.as_of_date and n.survey_date >= {{ add_days(-365, 'as_of.as_of_date') }}
    group by n.account_id
),

sentiment as (
    -- Null until the NLP asset lands raw.intel_note_sentiment: no value is invented.
    select
        m.account_id,
        avg(s.score) as meeting_sentiment_180d
    from {{ ref('stg_intel__note_sentiment') }} as s
    inner join {{ ref('stg_crm__meeting_notes') }} as m on s.note_id = m.note_id
    cross join as_of
    where m.note_date < as_of.as_of_date and m.note_date >= {{ add_days(-180, 'as_of.as_of_date') }}
    group by m.account_id
),

csg as (
    select
        account_id,
        min(csg_id) as csg_id,
        min(created_date) as csg_created_date
    from {{ ref('stg_crm__csg_groups') }}
    group by account_id
)

select
    acc.customer_id,
    acc.account_id,
    acc.match_rule,
    coalesce(c.contacts, 0) as contacts,
    coalesce(c.decision_makers, 0) as decision_makers,
    coalesce(s.email_opens_90d, 0) as email_opens_90d,
    coalesce(s.proposal_downloads_90d, 0) as proposal_downloads_90d,
    coalesce(s.site_visits_90d, 0) as site_visits_90d,
    coalesce(v.visits_90d, 0) as visits_90d,
    coalesce(t.tickets_365d, 0) as tickets_365d,
    coalesce(t.open_tickets, 0) as open_tickets,
    coalesce(r.custom_requests_730d, 0) as custom_requests_730d,
    n.nps_score_365d,
    se.meeting_sentiment_180d,
    g.csg_id,
    g.csg_created_date
from acc
left join contacts as c on acc.account_id = c.account_id
left join signals as s on acc.account_id = s.account_id
left join visits as v on acc.account_id = v.account_id
left join tickets as t on acc.account_id = t.account_id
left join requests as r on acc.account_id = r.account_id
left join nps as n on acc.account_id = n.account_id
left join sentiment as se on acc.account_id = se.account_id
left join csg as g on acc.account_id = g.account_id
