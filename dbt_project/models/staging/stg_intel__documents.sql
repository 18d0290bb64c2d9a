-- Inbox documents accepted by nlp/ (raw.intel_documents); empty until the first extraction.
select
    cast(doc_id as {{ dbt.type_string() }}) as doc_id,
    cast(file_name as {{ dbt.type_string() }}) as file_name,
    cast(format as {{ dbt.type_string() }}) as document_format,
    cast(pages as {{ dbt.type_bigint() }}) as pages,
    cast(page_paths as {{ dbt.type_string() }}) as page_paths,
    cast(mean_confidence as {{ type_double() }}) as mean_confidence,
    cast(status as {{ dbt.type_string() }}) as document_status,
    cast(processed_at as {{ dbt.type_timestamp() }}) as processed_at
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('intel_documents') }} as s  -- noqa: AL05
