-- Customer drop alerts from ml/ (raw.alerts); an empty typed relation until the first alert run.
select
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(as_of as date) as as_of,
    cast(run_rate_month as {{ type_double() }}) as run_rate_month,
    cast(forecast_next_month as {{ type_double() }}) as forecast_next_month,
    cast(drop_pct as {{ type_double() }}) as drop_pct,
    cast(main_driver as {{ dbt.type_string() }}) as main_driver,
    cast(reason as {{ dbt.type_string() }}) as reason,
    cast(contributions as {{ dbt.type_string() }}) as contributions,
    cast(substitutes as {{ dbt.type_string() }}) as substitutes,
    cast(solution_pack as {{ dbt.type_string() }}) as solution_pack,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('alerts') }} as s  -- noqa: AL05
