-- SKUs with the attributes ml/ plans with; a SKU without a lead time in ERP gets the default lead time (dbt var
-- `default_lead_time_days`, the one place that default is written).
select
    sku_id,
    product_line_id,
    launch_date,
    discontinue_date,
    coalesce(lead_time_days, {{ var('default_lead_time_days') }}) as lead_time_days
from {{ ref('stg_erp__skus') }}
