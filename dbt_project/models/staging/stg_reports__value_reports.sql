-- Quarterly value reports written by lodestar.reports (raw.value_reports); an empty typed relation until the first.
select
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(quarter as {{ dbt.type_string() }}) as quarter,
    cast(pdf_path as {{ dbt.type_string() }}) as pdf_path,
    cast(html_path as {{ dbt.type_string() }}) as html_path,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('value_reports') }} as s  -- noqa: AL05
