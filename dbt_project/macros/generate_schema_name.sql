{#- Layers land in their own schemas (staging, intermediate, marts) on every target,
    not "<target schema>_<custom>": analysts query marts.customer_360 everywhere. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
