-- Stakeholder centrality within each CRM account from nlp/ (raw.intel_influence_nodes).
select
    cast(account_id as {{ dbt.type_string() }}) as account_id,
    cast(contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(degree as {{ dbt.type_bigint() }}) as ties,
    cast(weighted_degree as {{ type_double() }}) as weighted_ties,
    cast(pagerank as {{ type_double() }}) as pagerank,
    cast(betweenness as {{ type_double() }}) as betweenness
from {{ source_or_empty('intel_influence_nodes') }} as s  -- noqa: AL05
