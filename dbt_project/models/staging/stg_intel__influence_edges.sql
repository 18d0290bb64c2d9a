-- Stakeholder ties per CRM account from nlp/ (raw.intel_influence_edges).
select
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(source_contact_id as {{ dbt.type_string() }}) as source_contact_id,
    cast(target_contact_id as {{ dbt.type_string() }}) as target_contact_id,
    cast(weight as {{ type_double() }}) as tie_weight,
    cast(co_visits as {{ dbt.type_bigint() }}) as co_visits,
    cast(co_mentions as {{ dbt.type_bigint() }}) as co_mentions
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('intel_influence_edges') }} as s  -- noqa: AL05
