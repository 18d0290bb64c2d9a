{#- ANALYZE a model PostgreSQL just built as a table, so the planner of every downstream model sees row counts
    and value distributions instead of defaults. Renders nothing on other engines and for views. -#}
{% macro pg_analyze() %}
  {%- if target.type == 'postgres' and model.config.materialized in ('table', 'incremental') -%}
    analyze {{ this }}
  {%- endif -%}
{% endmacro %}
