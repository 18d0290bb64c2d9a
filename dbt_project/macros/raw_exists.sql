{#- Whether a raw table has landed (false while dbt parses). In a file of its own: the SQL linter's jinja templater
    loads a macro file as one template, where the `return` of a macro called by another macro of the same file
    (source_or_empty, dedup_raw in raw_sources.sql) would end the caller too; across files it returns as in dbt. -#}
{% macro raw_exists(table_name, source_name='raw') -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set rel = source(source_name, table_name) -%}
    {%- set found = adapter.get_relation(database=rel.database, schema=rel.schema, identifier=rel.identifier) -%}
    {{ return(found is not none) }}
{%- endmacro %}
