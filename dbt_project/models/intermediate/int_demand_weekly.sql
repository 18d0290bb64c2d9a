-- Demand per account manager x SKU x channel x week (the forecast grain): ERP order lines by their own
-- channel plus the company's own platform stores (channel 'ecommerce_platform'); cancelled and refunded
-- excluded. Distributor-run platform shops are left out: their stock was sold in through ERP already
-- (channel 'distributor'), so counting their consumer orders too would count the same units twice.
with erp as (
    select account_manager_id, sku_id, channel, {{ week_of('order_date') }} as week_start,
           quantity, unit_price
    from {{ ref('stg_erp__orders') }}
    where order_status is distinct from 'cancelled'
),
shop as (
    select account_manager_id, sku_id, 'ecommerce_platform' as channel, {{ week_of('order_time') }} as week_start,
           quantity, unit_price
    from {{ ref('stg_ecommerce__orders') }}
    where coalesce(order_status, '') not in ('cancelled', 'refunded')
      and shop_name like '%{{ var("own_ecommerce_shop_marker") }}%'
),
lines as (
    select * from erp
    union all
    select * from shop
)
select
    account_manager_id,
    sku_id,
    channel,
    week_start,
    cast(sum(quantity) as {{ type_double() }}) as y,
    {{ safe_div('sum(quantity * unit_price)', 'sum(quantity)') }} as realised_price,
    count(*) as order_lines
from lines
where account_manager_id is not null and sku_id is not null and channel is not null
group by account_manager_id, sku_id, channel, week_start
