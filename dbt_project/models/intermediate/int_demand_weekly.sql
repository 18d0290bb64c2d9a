-- Demand per account manager x SKU x channel x week (the forecast grain): ERP order lines by their own
-- channel plus the company's own platform stores (channel 'ecommerce_platform'); cancelled and refunded
-- excluded. Distributor-run platform shops are left out: their stock was sold in through ERP already
-- (channel 'distributor'), so counting their consumer orders too would count the same units twice.
-- A company whose ERP lines name no account manager (or no channel) still forecasts: the line's owner is its
-- customer's region, spelled `unassigned:<region>` (region kept for the hierarchy), and the channel the
-- customer's, else `unspecified`. Labelled as such, never a person or a channel the data does not name.
-- Weeks are the company's (macro company_week: lodestar.yaml calendar.week_start, Monday by default).
with erp as (
    select
        coalesce(o.account_manager_id, 'unassigned:' || coalesce(c.region, 'unknown')) as account_manager_id,
        case when o.account_manager_id is null then c.region end as territory_region,
        o.sku_id,
        coalesce(o.channel, c.channel, 'unspecified') as channel,
        {{ company_week('o.order_date') }} as week_start,
        o.quantity,
        o.unit_price
    from {{ ref('stg_erp__orders') }} as o
    left join {{ ref('stg_erp__customers') }} as c on o.customer_id = c.customer_id
    where o.order_status is distinct from 'cancelled'
),

shop as (
    select
        account_manager_id,
        cast(null as {{ dbt.type_string() }}) as territory_region,
        sku_id,
        'ecommerce_platform' as channel,
        {{ company_week('order_time') }} as week_start,
        quantity,
        unit_price
    from {{ ref('stg_ecommerce__orders') }}
    where
        coalesce(order_status, '') not in ('cancelled', 'refunded')
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
    max(territory_region) as territory_region,
    cast(sum(quantity) as {{ type_double() }}) as y,
    {{ safe_div('sum(quantity * unit_price)', 'sum(quantity)') }} as realised_price,
    count(*) as order_lines
from lines
where account_manager_id is not null and sku_id is not null and channel is not null
group by account_manager_id, sku_id, channel, week_start
