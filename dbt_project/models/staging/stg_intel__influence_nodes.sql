-- Stakeholder centrality within each CRM account from nlp/ (raw.intel_influence_nodes).
select
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(degree as {{ dbt.type_bigint() }}) as ties,
    cast(weighted_degree as {{ type_double() }}) as weighted_ties,
    cast(pagerank as {{ type_double() }}) as pagerank,
    cast(betweenness as {{ type_double() }}) as betweenness
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('intel_influence_nodes') }} as s  -- noqa: AL05
