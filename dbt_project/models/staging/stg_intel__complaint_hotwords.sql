-- Complaint hot words per competitor per week from nlp/ (raw.intel_complaint_hotwords).
select
    cast(competitor as {{ dbt.type_string() }}) as competitor,
    cast(week_start as date) as week_start,
    cast(term as {{ dbt.type_string() }}) as term,
    cast(term_count as {{ dbt.type_bigint() }}) as term_count,
    cast(prev_count as {{ dbt.type_bigint() }}) as prev_count,
    cast(wow_change as {{ dbt.type_bigint() }}) as wow_change,
    cast(heat as {{ type_double() }}) as heat
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('intel_complaint_hotwords') }} as s  -- noqa: AL05
