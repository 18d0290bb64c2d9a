-- Complexity coefficient (0-100) per customer: 11 dimensions, each min-max normalised across customers
-- (purchase amount on a log scale), weighted by the complexity_weights seed; contributions kept per dimension.
{% set dims = ['annual_purchase_amount', 'product_line_breadth', 'customisation_depth', 'multi_factory_coordination',
               'decision_makers', 'delivery_sites', 'integration_points', 'contract_terms', 'ticket_load',
               'geographic_spread', 'payment_terms'] %}
-- The indentation rule misreads jinja loop bodies (and its fix mangles them): off in this file.
-- noqa: disable=LT02
with inputs as (
    select * from {{ ref('int_customer_complexity_inputs') }}
),

weights as (
    select
        {%- for d in dims %}
        coalesce(max(case when dimension = '{{ d }}' then weight end), 0) as w_{{ d }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('complexity_weights') }}
),

scaled as (
    select
        customer_id,
        {%- for d in dims %}
        {%- set v = 'ln(1 + ' ~ d ~ ')' if d == 'annual_purchase_amount' else d %}
        cast({{ d }} as {{ type_double() }}) as {{ d }}_value,
        -- NULL for every customer = the company lacks the dimension's source: left out, not scored 0
        case when count({{ d }}) over () = 0 then null else coalesce({{ minmax(v) }}, 0) end
            as {{ d }}_norm{{ ',' if not loop.last }}
        {%- endfor %}
    from inputs
),

available as (
    -- the seed weights of the dimensions this company can measure (1 when it has them all): the others'
    -- weight is spread over these, so the score stays 0-100 and says which dimensions it left out
    select
        s.*,
        nullif(
            {%- for d in dims %}
            {{ '+ ' if not loop.first }}case when s.{{ d }}_norm is null then 0 else w.w_{{ d }} end
            {%- endfor %},
            0
        ) as available_weight,
        nullif(
            concat_ws(
                ', '
                {%- for d in dims %},
                case when s.{{ d }}_norm is null then '{{ d }}' end
                {%- endfor %}
            ),
            ''
        ) as unavailable_dimensions
    from scaled as s cross join weights as w
),

scored as (
    select
        s.customer_id,
        s.unavailable_dimensions,
        {%- for d in dims %}
        s.{{ d }}_value,
        s.{{ d }}_norm,
        s.{{ d }}_norm * w.w_{{ d }} / s.available_weight * 100 as {{ d }}_contribution,
        {%- endfor %}
        (
            {%- for d in dims %}
            {{ '+ ' if not loop.first }}coalesce(s.{{ d }}_norm * w.w_{{ d }}, 0)
            {%- endfor %}
        )
        / s.available_weight * 100 as complexity_score
    from available as s cross join weights as w
)

select
    customer_id,
    {{ rnd('complexity_score', 2) }} as complexity_score,
    cast(rank() over (order by complexity_score desc) as {{ dbt.type_bigint() }}) as complexity_rank,
    unavailable_dimensions,
    {%- for d in dims %}
    {{ d }}_value,
    {{ rnd(d ~ '_norm', 4) }} as {{ d }}_norm,
    {{ rnd(d ~ '_contribution', 2) }} as {{ d }}_contribution{{ ',' if not loop.last }}
    {%- endfor %}
from scored
