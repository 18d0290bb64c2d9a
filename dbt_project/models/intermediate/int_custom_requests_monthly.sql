-- Custom-solution requests per month per region (of the account's manager) and per CSG.
with requests as (
    select
        r.account_id,
        cast({{ dbt.date_trunc('month', 'r.request_date') }} as date) as month_start,
        am.region
    from {{ ref('stg_crm__custom_requests') }} as r
    inner join {{ ref('stg_crm__accounts') }} as a on r.account_id = a.account_id
    left join {{ ref('stg_crm__account_managers') }} as am on a.account_manager_id = am.account_manager_id
)

select
    'region' as scope_type,
    region as scope_id,
    month_start,
    count(*) as requests
from requests
group by region, month_start
union all
select
    'csg' as scope_type,
    g.csg_id,
    r.month_start,
    count(*) as requests
from {{ ref('stg_crm__csg_groups') }} as g
inner join requests as r on g.account_id = r.account_id
group by g.csg_id, r.month_start
