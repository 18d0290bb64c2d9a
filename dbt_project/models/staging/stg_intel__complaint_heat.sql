-- Weekly complaint heat per customer from nlp/ (raw.intel_complaint_heat): a feature the forecast can join
-- on customer_id x week_start.
select
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(week_start as date) as week_start,
    cast(complaints as {{ dbt.type_bigint() }}) as complaints,
    cast(negative_complaints as {{ dbt.type_bigint() }}) as negative_complaints,
    cast(competitor_mentions as {{ dbt.type_bigint() }}) as competitor_mentions,
    cast(heat as {{ type_double() }}) as complaint_heat
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('intel_complaint_heat') }} as s  -- noqa: AL05
