-- Accounts per account manager by customer cluster, complexity-weighted load, and the suggested team size
-- at the target accounts per manager (seed case: 32 regions -> 18 clusters, 47 -> 29 accounts per manager).
with accts as (
    select
        c.cluster_id,
        c.account_manager_id,
        c.customer_id,
        coalesce(c.complexity_score, 0) as complexity_score
    from {{ ref('customer_360') }} as c
    where c.cluster_id is not null
),

by_cluster as (
    select
        cluster_id,
        count(*) as accounts,
        count(distinct account_manager_id) as account_managers,
        avg(complexity_score) as avg_complexity,
        -- An account of the reference complexity counts as one standard account.
        sum(complexity_score) / {{ param('complexity_load_reference') }} as complexity_weighted_accounts
    from accts
    group by cluster_id
)

select
    b.cluster_id,
    cl.cluster_name,
    b.accounts,
    b.account_managers,
    {{ rnd(safe_div('b.accounts', 'b.account_managers'), 1) }} as accounts_per_manager,
    {{ rnd('b.avg_complexity', 1) }} as avg_complexity,
    {{ rnd('b.complexity_weighted_accounts', 1) }} as complexity_weighted_accounts,
    greatest(
        1,
        cast(
            ceil(b.complexity_weighted_accounts / {{ param('target_accounts_per_manager') }}) as {{ dbt.type_bigint() }}
        )
    ) as suggested_managers,
    {%- set managers = 'greatest(1, ceil(b.complexity_weighted_accounts / '
                       ~ param('target_accounts_per_manager') ~ '))' %}
    {{ rnd(safe_div('b.accounts', managers), 1) }} as suggested_accounts_per_manager,
    {{ param('baseline_regions') }} as baseline_regions,
    {{ param('baseline_clusters') }} as baseline_clusters,
    {{ param('baseline_accounts_per_manager') }} as baseline_accounts_per_manager,
    {{ param('target_accounts_per_manager') }} as target_accounts_per_manager
from by_cluster as b
left join {{ ref('stg_crm__clusters') }} as cl on b.cluster_id = cl.cluster_id
