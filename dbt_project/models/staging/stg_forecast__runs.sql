-- Forecast training runs from ml/ (raw.forecast_runs); an empty typed relation until the first run.
select
    cast(run_id as {{ dbt.type_string() }}) as run_id,
    cast(model_name as {{ dbt.type_string() }}) as model_name,
    cast(trained_at as {{ dbt.type_timestamp() }}) as trained_at,
    cast(wape as {{ type_double() }}) as wape
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('forecast_runs') }} as s  -- noqa: AL05
