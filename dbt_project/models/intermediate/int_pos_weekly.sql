-- POS-observed sell-through per store x SKU x week (scans mapped to SKUs by barcode).
select
    s.store_id,
    k.sku_id,
    {{ week_of('s.scan_date') }} as week_start,
    sum(s.units_sold) as pos_units,
    sum(s.sales_amount) as pos_amount
from {{ ref('stg_pos__scans') }} as s
inner join {{ ref('stg_erp__skus') }} as k on s.barcode = k.barcode
group by s.store_id, k.sku_id, {{ week_of('s.scan_date') }}
