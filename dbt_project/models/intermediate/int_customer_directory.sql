-- Every ERP customer with the names other systems call it (its CRM account by the ERP link, its POS chain, the
-- distributor name it trades under), for nlp/'s entity linking: documents and complaints name customers as
-- people write them, not by id.
with customers as (
    select
        customer_id,
        legal_name,
        city
    from {{ ref('stg_erp__customers') }}
),

aliases as (
    select
        erp_customer_id as customer_id,
        account_name as alias
    from {{ ref('stg_crm__accounts') }}
    union
    select
        customer_id,
        chain_name as alias
    from {{ ref('stg_pos__stores') }}
    union
    select
        distributor_id as customer_id,
        distributor_name as alias
    from {{ ref('stg_distributor__inventory') }}
),

customer_aliases as (
    select
        customer_id,
        {{ ordered_listagg('alias', "';'", 'alias') }} as aliases
    from (select distinct
        customer_id,
        alias
    from aliases
    where customer_id is not null and alias is not null) as a
    group by customer_id
)

select
    customers.customer_id as id,
    customers.legal_name as name,
    customers.city,
    customer_aliases.aliases
from customers
left join customer_aliases using (customer_id)
