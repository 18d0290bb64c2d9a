{#- Generic test: every non-null value lies in [min_value, max_value] (either bound optional). -#}
{% test in_range(model, column_name, min_value=none, max_value=none) %}
select {{ column_name }} as failing_value
from {{ model }}
where {{ column_name }} is not null
  and (
    {%- if min_value is not none %} {{ column_name }} < {{ min_value }}{% else %} 1 = 0{% endif %}
    {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
  )
{% endtest %}

{#- Generic test: the model has at least `min_rows` rows (a mart that silently empties is a failure) when what it
    needs has landed (meta lodestar_needs, macros/mart_needs.sql); otherwise it must be empty (nothing invented). -#}
{% test has_rows(model, min_rows=1) %}
{%- set unmet = unmet_needs(mart_needs(tested_model_name(model))) if execute else [] %}
{%- if unmet %}
select count(*) as n from {{ model }} having count(*) > 0
{%- else %}
select count(*) as n from {{ model }} having count(*) < {{ min_rows }}
{%- endif %}
{% endtest %}

{#- Generic test: the combination of `columns` is unique (dbt_utils is out of reach offline). -#}
{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Generic test: every `field` value of `to` occurs in the tested column (the reverse of relationships), e.g.
    every customer has at least one access-policy row. A `where` config filters the tested model. -#}
{% test covers_every(model, column_name, to, field) %}
{%- if execute and unmet_needs(mart_needs(tested_model_name(model))) %}
-- the model's needs are unmet: it is empty by design (marts.mart_status says why), nothing to cover
select null as uncovered where 1 = 0
{%- else %}
select p.{{ field }} as uncovered
from {{ to }} p
where p.{{ field }} is not null
  and p.{{ field }} not in (select {{ column_name }} from {{ model }} where {{ column_name }} is not null)
{%- endif %}
{% endtest %}

{#- Generic test: the column is NULL for every row (the company lacks its source: unavailable) or for none. -#}
{% test null_for_all_or_none(model, column_name) %}
select count(*) as n, count({{ column_name }}) as filled
from {{ model }}
having count({{ column_name }}) > 0 and count({{ column_name }}) < count(*)
{% endtest %}
