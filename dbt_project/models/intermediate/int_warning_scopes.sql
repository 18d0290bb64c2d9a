-- The scopes warning lights are shown for: every region (from account managers) and every CSG.
select distinct
    'region' as scope_type,
    region as scope_id,
    region
from {{ ref('stg_crm__account_managers') }}
union all
select
    'csg' as scope_type,
    g.csg_id,
    am.region
from {{ ref('stg_crm__csg_groups') }} as g
left join {{ ref('stg_crm__account_managers') }} as am on g.lead_account_manager_id = am.account_manager_id
