-- Weekly forecasts from ml/ (raw.forecast_predictions); an empty typed relation until the first forecast run.
select
    cast(run_id as {{ dbt.type_string() }}) as run_id,
    cast(origin_week as date) as origin_week,
    cast(account_manager_id as {{ dbt.type_string() }}) as account_manager_id,
    cast(sku_id as {{ dbt.type_string() }}) as sku_id,
    cast(channel as {{ dbt.type_string() }}) as channel,
    cast(region as {{ dbt.type_string() }}) as region,
    cast(week_start as date) as week_start,
    cast(y_hat as {{ type_double() }}) as y_hat,
    {{ raw_column_or_null('forecast_predictions', 'hi80', 'decimal') }} as hi80,
    -- The drivers came later (ml/explain.py): a table written before them builds with nulls.
    {{ raw_column_or_null('forecast_predictions', 'run_rate', 'decimal') }} as run_rate,
    {{ raw_column_or_null('forecast_predictions', 'drivers', 'string') }} as drivers,
    {{ raw_column_or_null('forecast_predictions', 'top_drivers', 'string') }} as top_drivers,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('forecast_predictions') }} as s  -- noqa: AL05
