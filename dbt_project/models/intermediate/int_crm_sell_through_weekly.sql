-- CRM-reported sell-through per store x SKU x week; more than one report for a cell is kept visible (n_reports).
-- A report is dated by its week's start: in the company's weeks (macro company_week, as the POS weeks it is
-- reconciled with; the same dates with the default Monday weeks).
select
    store_id,
    sku_id,
    {{ company_week('week_start') }} as week_start,
    sum(units_sold) as crm_units,
    sum(sales_amount) as crm_amount,
    count(*) as n_reports,
    max(account_manager_id) as account_manager_id
from {{ ref('stg_crm__sell_through_reports') }}
group by store_id, sku_id, {{ company_week('week_start') }}
