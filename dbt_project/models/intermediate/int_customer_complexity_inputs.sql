-- The raw value of each of the 11 complexity dimensions per ERP customer (normalised and weighted in
-- customer_complexity).
-- A dimension whose source this company lacks (`<raw table>` not landed / empty, or `<raw table>.<column>` never
-- filled) is NULL for every customer, not 0: customer_complexity then leaves it out and says so.
{%- set dimension_needs = {
    'customisation_depth': ['crm_custom_requests'],
    'multi_factory_coordination': ['erp_skus.factory_id'],
    'decision_makers': ['crm_contacts'],
    'delivery_sites': ['pos_stores'],
    'contract_terms': ['erp_orders.channel'],
    'ticket_load': ['crm_tickets'],
    'geographic_spread': ['pos_stores'],
    'payment_terms': ['erp_customers.payment_terms_days'],
} %}
{%- set unavailable = [] %}
{%- for d, needs in dimension_needs.items() if unmet_needs(needs) %}{% do unavailable.append(d) %}{% endfor %}
-- The indentation rule misreads the jinja branches below: off in this file.
-- noqa: disable=LT02
with stores as (
    select
        customer_id,
        count(*) as stores,
        count(distinct city) as cities
    from {{ ref('stg_pos__stores') }}
    group by customer_id
),

systems as (
    select
        customer_id,
        count(distinct system) as systems
    from {{ ref('int_customer_identity') }}
    where customer_id is not null
    group by customer_id
),

kpi as (
    select distinct customer_id from {{ ref('stg_value_tracking__customer_kpis') }}
)

select
    c.customer_id,
    coalesce(o.purchase_amount_365d, 0) as annual_purchase_amount,
    coalesce(o.product_lines_365d, 0) as product_line_breadth,
    {% if 'customisation_depth' in unavailable -%}
        cast(null as {{ type_double() }})
    {%- else -%}
        coalesce(e.custom_requests_730d, 0)
    {%- endif %} as customisation_depth,
    {% if 'multi_factory_coordination' in unavailable -%}
        cast(null as {{ type_double() }})
    {%- else -%}
        coalesce(o.factories_365d, 0)
    {%- endif %} as multi_factory_coordination,
    {% if 'decision_makers' in unavailable -%}
        cast(null as {{ type_double() }})
    {%- else -%}
        coalesce(e.decision_makers, 0)
    {%- endif %} as decision_makers,
    {% if 'delivery_sites' in unavailable -%}
        cast(null as {{ type_double() }})
    {%- else -%}
        coalesce(s.stores, 1)
    {%- endif %} as delivery_sites,
    coalesce(sy.systems, 1) + case when k.customer_id is null then 0 else 1 end as integration_points,
    {% if 'contract_terms' in unavailable -%}
        cast(null as {{ type_double() }})
    {%- else -%}
        coalesce(o.contract_terms_365d, 0)
    {%- endif %} as contract_terms,
    {% if 'ticket_load' in unavailable -%}
        cast(null as {{ type_double() }})
    {%- else -%}
        coalesce(e.tickets_365d, 0)
    {%- endif %} as ticket_load,
    {% if 'geographic_spread' in unavailable -%}
        cast(null as {{ type_double() }})
    {%- else -%}
        coalesce(s.cities, 1)
    {%- endif %} as geographic_spread,
    {% if 'payment_terms' in unavailable -%}
        cast(null as {{ type_double() }})
    {%- else -%}
        c.payment_terms_days
    {%- endif %} as payment_terms
from {{ ref('stg_erp__customers') }} as c
left join {{ ref('int_customer_orders') }} as o on c.customer_id = o.customer_id
left join {{ ref('int_customer_engagement') }} as e on c.customer_id = e.customer_id
left join stores as s on c.customer_id = s.customer_id
left join systems as sy on c.customer_id = sy.customer_id
left join kpi as k on c.customer_id = k.customer_id
