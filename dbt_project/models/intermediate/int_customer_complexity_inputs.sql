-- The raw value of each of the 11 complexity dimensions per ERP customer (normalised and weighted in customer_complexity).
with stores as (
    select customer_id, count(*) as stores, count(distinct city) as cities
    from {{ ref('stg_pos__stores') }} group by customer_id
),
systems as (
    select customer_id, count(distinct system) as systems
    from {{ ref('int_customer_identity') }} where customer_id is not null group by customer_id
),
kpi as (
    select distinct customer_id from {{ ref('stg_value_tracking__customer_kpis') }}
)
select
    c.customer_id,
    coalesce(o.purchase_amount_365d, 0) as annual_purchase_amount,
    coalesce(o.product_lines_365d, 0) as product_line_breadth,
    coalesce(e.custom_requests_730d, 0) as customisation_depth,
    coalesce(o.factories_365d, 0) as multi_factory_coordination,
    coalesce(e.decision_makers, 0) as decision_makers,
    coalesce(s.stores, 1) as delivery_sites,
    coalesce(sy.systems, 1) + case when k.customer_id is null then 0 else 1 end as integration_points,
    coalesce(o.contract_terms_365d, 0) as contract_terms,
    coalesce(e.tickets_365d, 0) as ticket_load,
    coalesce(s.cities, 1) as geographic_spread,
    c.payment_terms_days as payment_terms
from {{ ref('stg_erp__customers') }} c
left join {{ ref('int_customer_orders') }} o on o.customer_id = c.customer_id
left join {{ ref('int_customer_engagement') }} e on e.customer_id = c.customer_id
left join stores s on s.customer_id = c.customer_id
left join systems sy on sy.customer_id = c.customer_id
left join kpi k on k.customer_id = c.customer_id
