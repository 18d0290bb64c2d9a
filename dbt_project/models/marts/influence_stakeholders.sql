-- Who matters in each account: CRM contacts ranked by their centrality in the stakeholder graph built from
-- co-attended visits and co-mentions in meeting notes.
with nodes as (
    select * from {{ ref('stg_intel__influence_nodes') }}
)

select
    n.account_id,
    acc.customer_id,
    n.contact_id,
    {{ mask_name('c.contact_name') }} as contact_name,
    c.title,
    c.is_decision_maker,
    n.ties,
    {{ rnd('n.weighted_ties', 2) }} as weighted_ties,
    {{ rnd('n.pagerank', 4) }} as pagerank,
    {{ rnd('n.betweenness', 4) }} as betweenness,
    cast(
        row_number() over (partition by n.account_id order by n.pagerank desc, n.betweenness desc, n.contact_id asc)
        as {{ dbt.type_bigint() }}
    ) as influence_rank
from nodes as n
left join {{ ref('stg_crm__contacts') }} as c on n.contact_id = c.contact_id
left join {{ ref('int_customer_accounts') }} as acc on n.account_id = acc.account_id
