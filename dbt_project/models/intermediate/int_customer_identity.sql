-- Identity resolution: every system's key for a customer mapped to the ERP customer_id, with the rule that matched.
-- Rules, strongest first: erp_master (the ERP itself), source_key (the system carries the ERP code),
-- crm_erp_link (CRM account's ERP link), exact_name (normalised names equal),
-- city_industry_brand (same city and industry, same brand prefix, one candidate only), unmatched.
with erp as (
    select
        customer_id,
        legal_name,
        city,
        industry,
        {{ normalise_name('legal_name') }} as norm_name,
        replace({{ normalise_name('legal_name') }}, city, '') as core_name
    from {{ ref('stg_erp__customers') }}
),

crm as (
    select
        account_id,
        account_name,
        erp_customer_id,
        city,
        industry,
        {{ normalise_name('account_name') }} as norm_name,
        -- CRM spells the same company as 品牌简称（城市）, 城市品牌简称 or 品牌简称集团.
        replace(
            replace(replace({{ normalise_name('account_name') }}, '（' || city || '）', ''), city, ''), '（潜在）', ''
        ) as core_name
    from {{ ref('stg_crm__accounts') }}
),

crm_link as (
    select
        c.account_id,
        e.customer_id
    from crm as c inner join erp as e on c.erp_customer_id = e.customer_id
),

crm_exact as (
    select
        c.account_id,
        min(e.customer_id) as customer_id
    from crm as c inner join erp as e on c.norm_name = e.norm_name
    group by c.account_id
    having count(distinct e.customer_id) = 1
),

crm_brand as (
    select
        c.account_id,
        min(e.customer_id) as customer_id
    from crm as c
    inner join erp as e
        on
            c.city = e.city and c.industry = e.industry
            and {{ dbt.length('c.core_name') }} >= 2 and left(e.core_name, 2) = left(c.core_name, 2)
    group by c.account_id
    having count(distinct e.customer_id) = 1
),

crm_resolved as (
    select
        c.account_id,
        c.account_name,
        coalesce(l.customer_id, x.customer_id, b.customer_id) as customer_id,
        case
            when l.customer_id is not null then 'crm_erp_link'
            when x.customer_id is not null then 'exact_name'
            when b.customer_id is not null then 'city_industry_brand'
            else 'unmatched'
        end as match_rule
    from crm as c
    left join crm_link as l on c.account_id = l.account_id
    left join crm_exact as x on c.account_id = x.account_id
    left join crm_brand as b on c.account_id = b.account_id
)

select
    'erp' as system,
    customer_id as system_key,
    legal_name as system_name,
    customer_id,
    'erp_master' as match_rule
from erp
union all
select
    'crm' as system,
    account_id,
    account_name,
    customer_id,
    match_rule
from crm_resolved
union all
select
    'pos' as system,
    s.store_id,
    s.chain_name,
    e.customer_id,
    case when e.customer_id is null then 'unmatched' else 'source_key' end as match_rule
from {{ ref('stg_pos__stores') }} as s left join erp as e on s.customer_id = e.customer_id
union all
select
    'distributor' as system,
    d.distributor_id,
    max(d.distributor_name) as system_name,
    max(e.customer_id) as customer_id,
    case when max(e.customer_id) is null then 'unmatched' else 'source_key' end as match_rule
from {{ ref('stg_distributor__inventory') }} as d left join erp as e on d.distributor_id = e.customer_id
group by d.distributor_id
