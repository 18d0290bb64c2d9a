-- Strategic value x implementation complexity quadrants, and CSG pilot candidates ranked top-right first.
with base as (
    select
        c.customer_id,
        c.legal_name,
        c.tier,
        c.region,
        c.is_csg_member,
        c.health_score,
        c.complexity_score,
        -- Strategic value: purchase amount (log, min-max) and proposal-download intent, weighted by parameters, 0-100.
        (
            {{ param('matrix_value_weight_amount') }} * coalesce({{ minmax('ln(1 + c.purchase_amount_365d)') }}, 0)
            + {{ param('matrix_value_weight_intent') }} * coalesce({{ minmax('c.proposal_downloads_per_month') }}, 0)
        ) * 100 as strategic_value_score
    from {{ ref('customer_360') }} as c
)

select
    customer_id,
    legal_name,
    tier,
    region,
    {{ rnd('strategic_value_score', 2) }} as strategic_value_score,
    complexity_score,
    health_score,
    is_csg_member,
    case
        when
            strategic_value_score >= {{ param('matrix_value_threshold') }}
            and complexity_score >= {{ param('matrix_complexity_threshold') }}
            then 'high_value_high_complexity'
        when strategic_value_score >= {{ param('matrix_value_threshold') }} then 'high_value_low_complexity'
        when complexity_score >= {{ param('matrix_complexity_threshold') }} then 'low_value_high_complexity'
        else 'low_value_low_complexity'
    end as quadrant,
    cast(row_number() over (
        order by
            case
                when
                    strategic_value_score >= {{ param('matrix_value_threshold') }}
                    and complexity_score >= {{ param('matrix_complexity_threshold') }}
                    then 0
                else 1
            end,
            case when is_csg_member then 1 else 0 end,
            strategic_value_score * complexity_score desc,
            customer_id
    ) as {{ dbt.type_bigint() }}) as csg_pilot_rank
from base
