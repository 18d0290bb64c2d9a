-- Per customer success group: task closure and overdue rates, knowledge capture, joint visits and time to respond.
with as_of as (select as_of_date from {{ ref('int_as_of') }}),

tasks as (
    select
        t.csg_id,
        cast(sum(case when t.due_date < as_of.as_of_date then 1 else 0 end) as {{ dbt.type_bigint() }}) as tasks_due,
        sum(case when t.due_date < as_of.as_of_date and t.completed_date is not null then 1 else 0 end)
            as tasks_due_closed,
        cast(
            sum(case when t.completed_date is null and t.due_date < as_of.as_of_date then 1 else 0 end)
            as {{ dbt.type_bigint() }}
        ) as tasks_overdue,
        cast(sum(case when t.completed_date is null then 1 else 0 end) as {{ dbt.type_bigint() }}) as tasks_open,
        sum(case when t.completed_date is not null then 1 else 0 end) as tasks_closed,
        sum(case when t.completed_date is not null and t.knowledge_captured then 1 else 0 end) as tasks_with_knowledge
    from {{ ref('stg_crm__csg_tasks') }} as t cross join as_of
    group by t.csg_id
),

visits as (
    -- A joint visit has more than one customer contact attending (attendee ids are ';'-separated).
    select
        g.csg_id,
        count(*) as visits_90d,
        cast(sum(case when v.attendee_contact_ids like '%;%' then 1 else 0 end) as {{ dbt.type_bigint() }})
            as joint_visits_90d
    from {{ ref('stg_crm__csg_groups') }} as g
    inner join {{ ref('stg_crm__visits') }} as v on g.account_id = v.account_id
    cross join as_of
    where v.visit_date < as_of.as_of_date and v.visit_date >= {{ add_days(-90, 'as_of.as_of_date') }}
    group by g.csg_id
),

response as (
    select
        g.csg_id,
        percentile_cont(0.5) within group (
            order by {{ hours_between('t.opened_at', 't.closed_at') }}
        ) as median_response_hours
    from {{ ref('stg_crm__csg_groups') }} as g
    inner join {{ ref('stg_crm__tickets') }} as t on g.account_id = t.account_id
    cross join as_of
    where t.closed_at is not null and cast(t.opened_at as date) >= {{ add_days(-180, 'as_of.as_of_date') }}
    group by g.csg_id
),

members as (
    select
        csg_id,
        count(*) as members,
        count(distinct member_function) as functions
    from {{ ref('stg_crm__csg_members') }}
    group by csg_id
)

select
    g.csg_id,
    g.csg_name,
    g.account_id,
    ca.customer_id,
    g.lead_account_manager_id,
    am.region,
    g.created_date,
    coalesce(m.members, 0) as members,
    coalesce(m.functions, 0) as functions,
    coalesce(t.tasks_due, 0) as tasks_due,
    coalesce(t.tasks_open, 0) as tasks_open,
    coalesce(t.tasks_overdue, 0) as tasks_overdue,
    {{ rnd(safe_div('t.tasks_due_closed', 't.tasks_due'), 4) }} as task_closure_rate,
    {{ rnd(safe_div('t.tasks_overdue', 't.tasks_due'), 4) }} as overdue_rate,
    {{ rnd(safe_div('t.tasks_with_knowledge', 't.tasks_closed'), 4) }} as knowledge_capture_rate,
    coalesce(v.visits_90d, 0) as visits_90d,
    coalesce(v.joint_visits_90d, 0) as joint_visits_90d,
    {{ rnd('r.median_response_hours', 1) }} as median_response_hours
from {{ ref('stg_crm__csg_groups') }} as g
left join tasks as t on g.csg_id = t.csg_id
left join visits as v on g.csg_id = v.csg_id
left join response as r on g.csg_id = r.csg_id
left join members as m on g.csg_id = m.csg_id
left join {{ ref('stg_crm__account_managers') }} as am on g.lead_account_manager_id = am.account_manager_id
left join {{ ref('int_customer_accounts') }} as ca on g.account_id = ca.account_id
