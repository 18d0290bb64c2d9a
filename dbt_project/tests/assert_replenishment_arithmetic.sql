-- The replenishment arithmetic computed in Python (ml.alerts.replenishment) holds in the mart: flagged exactly when
-- the stock position is below the reorder point, and the suggestion is the shortfall rounded up (0 otherwise).
-- Tolerances cover the mart's 2-decimal rounding of the reorder point.
select
    holder_id,
    sku_id,
    stock_position,
    reorder_point,
    suggested_qty,
    is_flagged
from {{ ref('replenishment_suggestions') }}
where (is_flagged and (
    suggested_qty < reorder_point - stock_position - 0.01
    or suggested_qty > reorder_point - stock_position + 1.01
))
or (not is_flagged and (suggested_qty <> 0 or stock_position < reorder_point - 0.01))
