-- CRM-reported sell-through per store x SKU x week; more than one report for a cell is kept visible (n_reports).
select
    store_id,
    sku_id,
    week_start,
    sum(units_sold) as crm_units,
    sum(sales_amount) as crm_amount,
    count(*) as n_reports,
    max(account_manager_id) as account_manager_id
from {{ ref('stg_crm__sell_through_reports') }}
group by store_id, sku_id, week_start
