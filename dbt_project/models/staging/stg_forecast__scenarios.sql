-- Named lever scenarios from ml/ (raw.forecast_scenarios); an empty typed relation until the first scenario.
select
    cast(scenario_name as {{ dbt.type_string() }}) as scenario_name,
    cast(account_manager_id as {{ dbt.type_string() }}) as account_manager_id,
    cast(sku_id as {{ dbt.type_string() }}) as sku_id,
    cast(channel as {{ dbt.type_string() }}) as channel,
    cast(region as {{ dbt.type_string() }}) as region,
    cast(product_line as {{ dbt.type_string() }}) as product_line,
    cast(week_start as date) as week_start,
    cast(y_base as {{ type_double() }}) as y_base,
    cast(y_scenario as {{ type_double() }}) as y_scenario,
    cast(delta as {{ type_double() }}) as delta,
    cast(changed_levers as {{ dbt.type_string() }}) as changed_levers,
    cast(levers_json as {{ dbt.type_string() }}) as levers_json,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('forecast_scenarios') }} as s  -- noqa: AL05
