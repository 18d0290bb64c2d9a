-- Distributor replenishment suggestions per account manager, from the latest distributor stock snapshot under the
-- `default` scenario (raw.replenishment, computed by ml.alerts). A holder x SKU is flagged when its stock position
-- (on hand + in transit) is below its reorder point = demand over the lead time + safety stock; the suggested
-- quantity is the shortfall rounded up. suggested_value prices it at the SKU's list price.
select
    r.snapshot_date,
    r.account_manager_id,
    am.account_manager_name,
    am.region,
    r.holder_id,
    c.legal_name as holder_name,
    r.sku_id,
    s.sku_name,
    s.product_line_id,
    r.on_hand,
    r.in_transit,
    r.stock_position,
    {{ rnd('r.weekly_demand', 2) }} as weekly_demand,
    {{ rnd('r.cover_weeks', 2) }} as cover_weeks,
    {{ rnd('r.lead_time_weeks * 7', 1) }} as lead_time_days,
    {{ rnd('r.safety_stock', 2) }} as safety_stock,
    {{ rnd('r.demand_over_lead_time', 2) }} as demand_over_lead_time,
    {{ rnd('r.demand_over_lead_time + r.safety_stock', 2) }} as reorder_point,
    r.suggested_qty,
    {{ rnd('r.suggested_qty * s.list_price', 2) }} as suggested_value,
    r.is_flagged,
    r.scenario_name
from {{ ref('stg_ml__replenishment') }} as r
left join {{ ref('stg_crm__account_managers') }} as am on r.account_manager_id = am.account_manager_id
left join {{ ref('stg_erp__customers') }} as c on r.holder_id = c.customer_id
left join {{ ref('stg_erp__skus') }} as s on r.sku_id = s.sku_id
