-- Weekly complaint heat per customer from nlp/ (raw.intel_complaint_heat): a feature the forecast can join
-- on customer_id x week_start.
select
    cast(customer_id as {{ dbt.type_string() }}) as customer_id,
    cast(week_start as date) as week_start,
    cast(complaints as {{ dbt.type_bigint() }}) as complaints,
    cast(negative_complaints as {{ dbt.type_bigint() }}) as negative_complaints,
    cast(competitor_mentions as {{ dbt.type_bigint() }}) as competitor_mentions,
    cast(heat as {{ type_double() }}) as complaint_heat
from {{ source_or_empty('intel_complaint_heat') }} as s  -- noqa: AL05
