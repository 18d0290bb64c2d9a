-- Distributor replenishment rows from ml/ (raw.replenishment); an empty typed relation until the first run.
-- Python writes an infinite cover for a SKU with no demand: staged as null (no finite cover).
select
    cast(holder_id as {{ dbt.type_string() }}) as holder_id,
    cast(sku_id as {{ dbt.type_string() }}) as sku_id,
    cast(account_manager_id as {{ dbt.type_string() }}) as account_manager_id,
    cast(snapshot_date as date) as snapshot_date,
    cast(on_hand as double precision) as on_hand,
    cast(in_transit as double precision) as in_transit,
    cast(on_hand as double precision) + cast(in_transit as double precision) as stock_position,
    cast(weekly_demand as double precision) as weekly_demand,
    cast(weekly_sd as double precision) as weekly_sd,
    case when cast(cover_weeks as double precision) < 1e300 then cast(cover_weeks as double precision) end as cover_weeks,
    cast(lead_time_weeks as double precision) as lead_time_weeks,
    cast(safety_stock as double precision) as safety_stock,
    cast(demand_over_lead_time as double precision) as demand_over_lead_time,
    cast(suggested_qty as {{ dbt.type_bigint() }}) as suggested_qty,
    cast(flag as {{ dbt.type_boolean() }}) as is_flagged,
    cast(scenario_name as {{ dbt.type_string() }}) as scenario_name,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at
from {{ source_or_empty('replenishment') }} s
