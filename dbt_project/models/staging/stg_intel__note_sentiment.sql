-- Meeting-note sentiment from nlp/ (raw.intel_note_sentiment); an empty typed relation until that asset has run.
select
    cast(note_id as {{ dbt.type_string() }}) as note_id,
    cast(sentiment as {{ dbt.type_string() }}) as sentiment,
    cast(score as {{ type_double() }}) as score
-- AL05 waived below: `s` names the typed empty subquery source_or_empty renders until the feed lands (PostgreSQL
-- before 16 needs an alias on a subquery in FROM; sqlfluff reads no reason after the rule code, so it is here).
from {{ source_or_empty('intel_note_sentiment') }} as s  -- noqa: AL05
