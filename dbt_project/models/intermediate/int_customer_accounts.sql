-- The CRM account of each ERP customer (strongest rule wins when several accounts resolve to one customer).
with ranked as (
    select
        i.customer_id,
        i.system_key as account_id,
        i.match_rule,
        row_number() over (
            partition by i.customer_id
            order by case i.match_rule when 'crm_erp_link' then 1 when 'exact_name' then 2 else 3 end, i.system_key
        ) as rn
    from {{ ref('int_customer_identity') }} as i
    where i.system = 'crm' and i.customer_id is not null
)

select
    customer_id,
    account_id,
    match_rule
from ranked
where rn = 1
