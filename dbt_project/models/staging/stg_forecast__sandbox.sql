-- Forecast sandbox rows from ml/ (raw.forecast_sandbox): month x sandbox customer x arm; empty until the first run.
select
    cast(month as date) as month,
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(arm as {{ dbt.type_string() }}) as arm,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(origin_week as date) as origin_week,
    cast(series_count as {{ dbt.type_bigint() }}) as series_count,
    cast(forecast_total as {{ type_double() }}) as forecast_total,
    cast(actual_total as {{ type_double() }}) as actual_total,
    cast(wape as {{ type_double() }}) as wape,
    cast(bias as {{ type_double() }}) as bias,
    cast(calibrated_lever as {{ dbt.type_string() }}) as calibrated_lever,
    cast(lever_value_before as {{ type_double() }}) as lever_value_before,
    cast(calibrated_value as {{ type_double() }}) as calibrated_value,
    cast(calibration_error_before as {{ type_double() }}) as calibration_error_before,
    cast(calibration_error_after as {{ type_double() }}) as calibration_error_after,
    cast(n_obs as {{ dbt.type_bigint() }}) as n_obs,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('forecast_sandbox') }} as s  -- noqa: AL05
