-- CRM meeting notes attributed to the ERP customer their account resolves to (int_customer_identity: the
-- account's ERP link first, then the name rules), for the drop alerts' cause search. Notes of accounts that
-- resolve to no ERP customer are left out.
with notes as (
    select
        account_id,
        note_date,
        note_text
    from {{ ref('stg_crm__meeting_notes') }}
),

crm_customer as (
    select
        system_key as account_id,
        customer_id
    from {{ ref('int_customer_identity') }}
    where system = 'crm' and customer_id is not null
)

select
    crm_customer.customer_id,
    notes.account_id,
    notes.note_date,
    notes.note_text
from notes
inner join crm_customer using (account_id)
