-- Facts extracted from inbox documents by nlp/ (raw.intel_facts); empty until the first extraction.
select
    cast(doc_id as {{ dbt.type_string() }}) as doc_id,
    cast(page as {{ dbt.type_bigint() }}) as page,
    cast(start as {{ dbt.type_bigint() }}) as span_start,
    cast("end" as {{ dbt.type_bigint() }}) as span_end,
    cast(sentence as {{ dbt.type_string() }}) as sentence,
    cast(fact_type as {{ dbt.type_string() }}) as fact_type,
    cast(fact_subtype as {{ dbt.type_string() }}) as fact_subtype,
    cast(entity_label as {{ dbt.type_string() }}) as entity_label,
    cast(value as {{ dbt.type_string() }}) as fact_value,
    cast(unit as {{ dbt.type_string() }}) as fact_unit,
    cast(confidence as {{ type_double() }}) as confidence,
    cast(linked_customer_id as {{ dbt.type_string() }}) as linked_customer_id,
    cast(link_score as {{ type_double() }}) as link_score
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('intel_facts') }} as s  -- noqa: AL05
