{#- Contract-derived staging tests that follow the configured company's contract, not the checkout's.

    gen_sources.py writes these from the checkout's (demo) contracts. A run for a configured company passes
    `--vars '{"lodestar_contracts": {<raw table>: {"required": [...], "values": {<column>: [...]}}}}'`
    (lodestar.company.contract_rules): the connector already enforced that contract on every landed row, so
    a staging test re-checks what the company's contract states (a column it marks required, the values it
    allows) and no demo vocabulary. Without the variable (plain `dbt build`) the declared rule applies. -#}

{% macro _contract_rule(table, raw_column) -%}
    {%- set rules = var('lodestar_contracts', none) -%}
    {%- if rules is none -%}{{ return({'declared': true}) }}{%- endif -%}
    {%- set feed = rules.get(table) -%}
    {%- if feed is none -%}{{ return({'declared': false, 'required': false, 'values': none}) }}{%- endif -%}
    {{ return({'declared': false, 'required': raw_column in feed.get('required', []),
               'values': feed.get('values', {}).get(raw_column)}) }}
{%- endmacro %}

{#- not_null where the company's contract marks the column required (the declared rule without a company). -#}
{% test contract_not_null(model, column_name, table, raw_column=none) %}
{%- set rule = _contract_rule(table, raw_column or column_name) %}
select {{ column_name }} as failing_value
from {{ model }}
where {{ column_name }} is null
{%- if not rule.declared and not rule.required %} and 1 = 0{% endif %}
{% endtest %}

{#- accepted_values with the company's allowed values (the declared ones without a company; none: no check). -#}
{% test contract_accepted_values(model, column_name, table, values, raw_column=none) %}
{%- set rule = _contract_rule(table, raw_column or column_name) %}
{%- set allowed = values if rule.declared else rule['values'] %}
select {{ column_name }} as failing_value
from {{ model }}
where {{ column_name }} is not null
{%- if allowed is none %} and 1 = 0
{%- else %} and cast({{ column_name }} as {{ dbt.type_string() }}) not in (
    {%- for v in allowed %}'{{ (v | string) | replace("'", "''") }}'{{ ',' if not loop.last }}{% endfor %})
{%- endif %}
{% endtest %}
