{#- dbt-spark's seed loader (spark__load_csv_rows, dbt-spark 1.11.0) with one change: the values go into the
    statement as Spark SQL literals (null, or escaped text that the cast converts) instead of bindings. The
    `session` method pastes each binding between single quotes without escaping it, so a seed value with an
    apostrophe ("the customer's ...") broke the INSERT and an empty cell became the text 'None'; literals are
    plain SQL that every Spark endpoint parses. -#}
{% macro spark__load_csv_rows(model, agate_table) %}

  {% set batch_size = get_batch_size() %}
  {% set column_override = model['config'].get('column_types', {}) %}

  {% set statements = [] %}

  {% for chunk in agate_table.rows | batch(batch_size) %}
      {% set sql %}
          insert into {{ this.render() }} values
          {% for row in chunk -%}
              ({%- for col_name in agate_table.column_names -%}
                  {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                  {%- set type = column_override.get(col_name, inferred_type) -%}
                  {%- if row[loop.index0] is none -%}
                    cast(null as {{type}})
                  {%- else -%}
                    cast('{{ row[loop.index0] | string | replace('\\', '\\\\') | replace("'", "\\'") }}' as {{type}})
                  {%- endif -%}
                  {%- if not loop.last%},{%- endif %}
              {%- endfor -%})
              {%- if not loop.last%},{%- endif %}
          {%- endfor %}
      {% endset %}

      {% do adapter.add_query(sql, abridge_sql_log=True) %}

      {% if loop.index0 == 0 %}
          {% do statements.append(sql) %}
      {% endif %}
  {% endfor %}

  {{ return(statements[0]) }}
{% endmacro %}
