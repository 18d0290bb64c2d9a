{#- What each mart needs: `meta: {lodestar_needs: [<raw table>, ...]}` per mart (dbt_project.yml), the landed
    raw tables without which the mart has nothing true to say. A company that lacks one (no POS, no CRM) gets
    the mart empty, with the reason in marts.mart_status ("needs raw.pos_scans"), never zeros or invented
    values; `has_rows` asks for rows only when the needs are met. -#}

{% macro mart_needs(model_name) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- for node in graph.nodes.values() if model_name and node.resource_type == 'model' and node.name == model_name -%}
        {{ return(node.config.get('meta', {}).get('lodestar_needs', [])) }}
    {%- endfor -%}
    {{ return([]) }}
{%- endmacro %}

{#- The needed raw tables (or `table.column`s) that have not landed or hold no rows (no filled value), checked
    when the caller runs. -#}
{% macro unmet_needs(needs) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set unmet = [] -%}
    {%- for table in needs -%}
        {#- `table.column`: rows with the column filled (a feed the company lands without that column) -#}
        {%- set parts = table.split('.') -%}
        {%- set rel = adapter.get_relation(database=target.database, schema='raw', identifier=parts[0]) -%}
        {%- if rel is none -%}
            {%- do unmet.append(table) -%}
        {%- else -%}
            {%- set filled = ' where ' ~ parts[1] ~ ' is not null' if parts | length > 1 else '' -%}
            {%- set n = run_query('select count(*) from ' ~ rel ~ filled).columns[0].values()[0] -%}
            {%- if n == 0 -%}{%- do unmet.append(table) -%}{%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(unmet) }}
{%- endmacro %}

{#- "ready", or "needs raw.a, raw.b" -#}
{% macro needs_status(unmet) -%}
    {%- set parts = [] -%}
    {%- for t in unmet -%}{%- do parts.append('raw.' ~ t) -%}{%- endfor -%}
    {{- 'ready' if not parts else 'needs ' ~ (parts | join(', ')) -}}
{%- endmacro %}

{#- Every model that declares lodestar_needs, sorted by name: [(name, needs)]. -#}
{% macro marts_with_needs() -%}
    {%- set out = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() | sort(attribute='name')
                if node.resource_type == 'model' and node.config.get('meta', {}).get('lodestar_needs') -%}
            {%- do out.append((node.name, node.config.meta.lodestar_needs)) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(out) }}
{%- endmacro %}

{#- The tested model's name inside a generic test; with a `where` config `model` is a subquery text, whose
    quoted "<schema>"."<name>" says which model it filters. -#}
{% macro tested_model_name(model) -%}
    {%- if model is not string -%}{{ return(model.identifier) }}{%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model'
            and ('"' ~ node.schema ~ '"."' ~ node.name ~ '"') in model -%}
        {{ return(node.name) }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}
