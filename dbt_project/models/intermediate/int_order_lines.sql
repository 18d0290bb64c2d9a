-- ERP order lines that are demand: every line whose status is not `cancelled` (a line without a status counts).
-- The one place ml/ reads orders from (drop alerts, replenishment run-rates, the sandbox's actuals).
select
    order_line_id,
    customer_id,
    account_manager_id,
    sku_id,
    channel,
    order_date,
    ship_date,
    cast(quantity as {{ type_double() }}) as quantity
from {{ ref('stg_erp__orders') }}
where coalesce(order_status, '') <> 'cancelled'
