{#- Reading raw tables that may not have landed yet (feeds still being built, forecast and NLP outputs that
    arrive later). The declaration in models/staging/_sources.yml (column `data_type` in the contract
    vocabulary) is the single place a raw table's shape is written down. -#}

{% macro contract_type(t) -%}
    {%- set t = (t or 'string') | lower -%}
    {%- if t == 'integer' -%}{{ dbt.type_bigint() }}
    {%- elif t == 'decimal' -%}{{ type_double() }}
    {%- elif t == 'date' -%}date
    {%- elif t == 'timestamp' -%}{{ dbt.type_timestamp() }}
    {%- elif t == 'boolean' -%}{{ dbt.type_boolean() }}
    {%- else -%}{{ dbt.type_string() }}
    {%- endif -%}
{%- endmacro %}

{#- The raw table if it exists, otherwise an empty relation with the declared columns (plus the landing
    columns), so downstream models compile and build before a feed lands and say "no data yet". -#}
{% macro source_or_empty(table_name, source_name='raw') -%}
    {%- set rel = source(source_name, table_name) -%}
    {%- if raw_exists(table_name, source_name) or not execute -%}
        {{ rel }}
    {%- else -%}
        {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
                       | selectattr('name', 'equalto', table_name) | first -%}
        {%- set landing = {'_source_file': 'string', '_source_row': 'integer', '_batch_id': 'string',
                           '_loaded_at': 'timestamp'} -%}
        (select
        {%- for col, c in node.columns.items() if col not in landing %}
            cast(null as {{ contract_type(c.data_type) }}) as {{ col }},
        {%- endfor %}
        {%- for col, t in landing.items() %}
            cast(null as {{ contract_type(t) }}) as {{ col }}{{ ',' if not loop.last }}
        {%- endfor %}
        where 1 = 0)
    {%- endif -%}
{%- endmacro %}

{#- Latest accepted version of each business key, with rows named in raw.<source>_rejects excluded as a
    second line of defence (the connector already keeps them out). Columns: everything in the raw table. -#}
{% macro dedup_raw(table_name, key_columns, rejects_table=none, feed=none) -%}
    select * from (
        select r.*,
               row_number() over (
                   partition by {{ key_columns | join(', ') }}
                   order by r._loaded_at desc, r._source_file desc, r._source_row desc
               ) as _dedup_rank
        from {{ source_or_empty(table_name) }} r
        {%- if rejects_table is not none and raw_exists(rejects_table) %}
        where not exists (
            select 1 from {{ source('raw', rejects_table) }} j
            where j.feed = '{{ feed }}'
              and j._source_file = r._source_file
              and j._source_row = r._source_row
              and j._source_row > 0
        )
        {%- endif %}
    ) ranked
    where _dedup_rank = 1
{%- endmacro %}

{#- A column added to a raw table later (e.g. the forecast's drivers): the column when the landed table has it,
    a typed null when the table was written before it existed, so older warehouses keep building. -#}
{% macro raw_column_or_null(table_name, column, t, source_name='raw') -%}
    {%- set ns = namespace(present=true) -%}
    {%- if execute and raw_exists(table_name, source_name) -%}
        {%- set names = adapter.get_columns_in_relation(source(source_name, table_name)) | map(attribute='name')
                        | map('lower') | list -%}
        {%- set ns.present = column | lower in names -%}
    {%- endif -%}
    {%- if ns.present -%}cast({{ column }} as {{ contract_type(t) }}){%- else -%}cast(null as {{ contract_type(t) }}){%- endif -%}
{%- endmacro %}
