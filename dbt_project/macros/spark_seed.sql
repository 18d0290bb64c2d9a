{#- dbt-spark's seed loader (spark__load_csv_rows, dbt-spark 1.11.0) with one change: on the `session` method the
    adapter pastes each binding between single quotes without escaping it, so a seed value with an apostrophe
    ("the customer's ...") breaks the INSERT and an empty cell becomes the text 'None'. On that method the values
    are written into the statement as Spark SQL literals instead (null, or escaped text the cast converts).
    Other methods (thrift, odbc) bind parameters themselves and keep dbt-spark's way. -#}
{% macro spark__load_csv_rows(model, agate_table) %}

  {% set batch_size = get_batch_size() %}
  {% set column_override = model['config'].get('column_types', {}) %}
  {% set inline = target.method == 'session' %}

  {% set statements = [] %}

  {% for chunk in agate_table.rows | batch(batch_size) %}
      {% set bindings = [] %}

      {% if not inline %}
          {% for row in chunk %}
              {% do bindings.extend(row) %}
          {% endfor %}
      {% endif %}

      {% set sql %}
          insert into {{ this.render() }} values
          {% for row in chunk -%}
              ({%- for col_name in agate_table.column_names -%}
                  {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                  {%- set type = column_override.get(col_name, inferred_type) -%}
                  {%- if not inline -%}
                    cast({{ get_binding_char() }} as {{type}})
                  {%- elif row[loop.index0] is none -%}
                    cast(null as {{type}})
                  {%- else -%}
                    cast('{{ row[loop.index0] | string | replace('\\', '\\\\') | replace("'", "\\'") }}' as {{type}})
                  {%- endif -%}
                  {%- if not loop.last%},{%- endif %}
              {%- endfor -%})
              {%- if not loop.last%},{%- endif %}
          {%- endfor %}
      {% endset %}

      {% do adapter.add_query(sql, bindings=(none if inline else bindings), abridge_sql_log=True) %}

      {% if loop.index0 == 0 %}
          {% do statements.append(sql) %}
      {% endif %}
  {% endfor %}

  {{ return(statements[0]) }}
{% endmacro %}
