-- Key customers (重点客户): high strategic value in the customer matrix (a high_value_* quadrant, threshold from
-- business_parameters), served by a customer success group (the engagement whose value the report shows) and with
-- their own KPIs tracked by the value-tracking feed. The quarterly value report goes to these customers;
-- efficiency_benchmark measures its coverage.
select
    m.customer_id,
    m.legal_name,
    m.quadrant,
    m.strategic_value_score,
    m.csg_pilot_rank
from {{ ref('customer_matrix') }} as m
where
    m.quadrant in ('high_value_high_complexity', 'high_value_low_complexity')
    and m.is_csg_member
    and exists (
        select 1 from {{ ref('stg_value_tracking__customer_kpis') }} as k
        where k.customer_id = m.customer_id
    )
