-- Who may see which customer: one row per principal x customer, the single policy the cockpit's sign-in and
-- PostgreSQL row-level security both read. An account manager sees the customers whose CRM accounts they own
-- and the customers of the CSGs they lead; a customer success group sees the customers it serves. A customer
-- no CRM account resolves to has no owner in CRM; it goes to the manager who booked most of its orders'
-- sell-through reports, else to the account managers of its region, so nobody's customer is invisible to all.
with crm_accounts as (
    -- every CRM account resolved to an ERP customer (a customer may have several accounts)
    select
        i.customer_id,
        a.account_id,
        a.account_manager_id
    from {{ ref('int_customer_identity') }} as i
    inner join {{ ref('stg_crm__accounts') }} as a on i.system_key = a.account_id
    where i.system = 'crm' and i.customer_id is not null
),

owner_rows as (
    select
        'account_manager' as principal_kind,
        account_manager_id as principal_id,
        customer_id,
        'crm_account_owner' as source_rule,
        1 as rule_rank
    from crm_accounts
    where account_manager_id is not null
),

csg_lead_rows as (
    select
        'account_manager' as principal_kind,
        g.lead_account_manager_id as principal_id,
        c.customer_id,
        'csg_lead' as source_rule,
        2 as rule_rank
    from {{ ref('stg_crm__csg_groups') }} as g
    inner join crm_accounts as c on g.account_id = c.account_id
    where g.lead_account_manager_id is not null
),

csg_rows as (
    select
        'csg' as principal_kind,
        g.csg_id as principal_id,
        c.customer_id,
        'csg_serves_account' as source_rule,
        1 as rule_rank
    from {{ ref('stg_crm__csg_groups') }} as g
    inner join crm_accounts as c on g.account_id = c.account_id
),

owned as (
    select customer_id from owner_rows
    union
    select customer_id from csg_lead_rows
),

sell_through_rows as (
    -- unowned customers: the manager who files their stores' sell-through reports (most reports wins)
    select
        principal_kind,
        principal_id,
        customer_id,
        source_rule,
        rule_rank
    from (
        select
            'account_manager' as principal_kind,
            r.account_manager_id as principal_id,
            s.customer_id,
            'sell_through_reporter' as source_rule,
            3 as rule_rank,
            row_number() over (partition by s.customer_id order by count(*) desc, r.account_manager_id) as rn
        from {{ ref('stg_crm__sell_through_reports') }} as r
        inner join {{ ref('stg_pos__stores') }} as s on r.store_id = s.store_id
        where
            r.account_manager_id is not null and s.customer_id is not null
            and s.customer_id not in (select owned.customer_id from owned)
        group by r.account_manager_id, s.customer_id
    ) as x
    where rn = 1
),

region_rows as (
    -- still unowned: every account manager of the customer's region
    select
        'account_manager' as principal_kind,
        m.account_manager_id as principal_id,
        c.customer_id,
        'region_fallback' as source_rule,
        4 as rule_rank
    from {{ ref('stg_erp__customers') }} as c
    inner join {{ ref('stg_crm__account_managers') }} as m on c.region = m.region
    where
        c.customer_id not in (select owned.customer_id from owned)
        and c.customer_id not in (select sell_through_rows.customer_id from sell_through_rows)
),

all_rows as (
    select * from owner_rows
    union all
    select * from csg_lead_rows
    union all
    select * from csg_rows
    union all
    select * from sell_through_rows
    union all
    select * from region_rows
),

ranked as (
    -- one row per principal x customer: the strongest rule that grants it
    select
        *,
        row_number() over (partition by principal_kind, principal_id, customer_id order by rule_rank) as rn
    from all_rows
)

select
    r.principal_kind,
    r.principal_id,
    r.customer_id,
    r.source_rule,
    -- the customer's own account manager in customer_360 (the one the cockpit shows as owner)
    coalesce(r.principal_kind = 'account_manager' and r.principal_id = c.account_manager_id, false) as is_primary_owner
from ranked as r
inner join {{ ref('customer_360') }} as c on r.customer_id = c.customer_id
where r.rn = 1
