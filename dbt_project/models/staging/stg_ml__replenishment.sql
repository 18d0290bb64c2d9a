-- Distributor replenishment rows from ml/ (raw.replenishment); an empty typed relation until the first run.
-- Python writes an infinite cover for a SKU with no demand: staged as null (no finite cover).
select
    cast(holder_id as {{ dbt.type_string() }}) as holder_id,
    cast(sku_id as {{ dbt.type_string() }}) as sku_id,
    cast(account_manager_id as {{ dbt.type_string() }}) as account_manager_id,
    cast(snapshot_date as date) as snapshot_date,
    cast(on_hand as {{ type_double() }}) as on_hand,
    cast(in_transit as {{ type_double() }}) as in_transit,
    cast(on_hand as {{ type_double() }}) + cast(in_transit as {{ type_double() }}) as stock_position,
    cast(weekly_demand as {{ type_double() }}) as weekly_demand,
    cast(weekly_sd as {{ type_double() }}) as weekly_sd,
    case when cast(cover_weeks as {{ type_double() }}) < 1e300 then cast(cover_weeks as {{ type_double() }}) end
        as cover_weeks,
    cast(lead_time_weeks as {{ type_double() }}) as lead_time_weeks,
    cast(safety_stock as {{ type_double() }}) as safety_stock,
    cast(demand_over_lead_time as {{ type_double() }}) as demand_over_lead_time,
    cast(suggested_qty as {{ dbt.type_bigint() }}) as suggested_qty,
    cast(flag as {{ dbt.type_boolean() }}) as is_flagged,
    cast(scenario_name as {{ dbt.type_string() }}) as scenario_name,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('replenishment') }} as s  -- noqa: AL05
