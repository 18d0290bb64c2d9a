-- Complaint hot words per competitor per week: the terms that heat up, ranked within the week, with their
-- week-over-week change ('none' = complaints that name no competitor).
select
    competitor,
    week_start,
    term,
    term_count,
    prev_count,
    wow_change,
    {{ rnd('heat', 4) }} as heat,
    cast(
        row_number() over (partition by competitor, week_start order by heat desc, term asc)
        as {{ dbt.type_bigint() }}
    ) as heat_rank,
    prev_count = 0 and term_count > 0 as is_new_this_week
from {{ ref('stg_intel__complaint_hotwords') }}
