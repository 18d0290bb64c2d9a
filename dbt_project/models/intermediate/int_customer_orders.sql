-- Per ERP customer: ordering over the 365 days before the as-of date (non-cancelled lines).
with recent_lines as (
    select
        o.*,
        k.product_line_id,
        k.factory_id
    from {{ ref('stg_erp__orders') }} as o
    inner join {{ ref('stg_erp__skus') }} as k on o.sku_id = k.sku_id
    cross join {{ ref('int_as_of') }} as a
    where
        o.order_status is distinct from 'cancelled'  -- an export without a status has no cancellations
        and o.order_date < a.as_of_date
        and o.order_date >= {{ add_days(-365, 'a.as_of_date') }}
)

select
    customer_id,
    sum(order_amount) as purchase_amount_365d,
    sum(quantity) as units_365d,
    count(*) as order_lines_365d,
    count(distinct order_id) as orders_365d,
    count(distinct sku_id) as skus_365d,
    count(distinct product_line_id) as product_lines_365d,
    count(distinct factory_id) as factories_365d,
    count(distinct promotion_id) + count(distinct channel) as contract_terms_365d,
    max(order_date) as last_order_date
from recent_lines
group by customer_id
