{#- Small portable helpers on top of dbt's cross-database macros (DuckDB, PostgreSQL and Spark SQL). Where dbt has
    no macro (an 8-byte float, an ordered string aggregate), a small adapter.dispatch macro here has one
    implementation per engine. The dispatchers render their implementation's text rather than `return` it (the
    same SQL): the SQL linter's jinja templater loads this file as one template, where a `return` in a macro
    that another macro of the same file calls would end the caller too. -#}

{#- An 8-byte float on every engine. dbt.type_float() renders `float`, which is 4 bytes on DuckDB (and would
    change the marts' values); Spark SQL has no `double precision`. -#}
{% macro type_double() -%}
    {{ adapter.dispatch('type_double', 'lodestar')() }}
{%- endmacro %}

{% macro default__type_double() -%}double precision{%- endmacro %}

{% macro spark__type_double() -%}double{%- endmacro %}

{#- Values of a group joined into one string in a fixed order (so the text is the same on every engine).
    dbt.listagg() ignores its order on Spark; `distinct` needs order_by to be the measure itself. -#}
{% macro ordered_listagg(measure, delimiter_text, order_by, distinct=false) -%}
    {{ adapter.dispatch('ordered_listagg', 'lodestar')(measure, delimiter_text, order_by, distinct) }}
{%- endmacro %}

{% macro default__ordered_listagg(measure, delimiter_text, order_by, distinct) -%}
    string_agg({{ 'distinct ' if distinct }}{{ measure }}, {{ delimiter_text }} order by {{ order_by }})
{%- endmacro %}

{% macro spark__ordered_listagg(measure, delimiter_text, order_by, distinct) -%}
    listagg({{ 'distinct ' if distinct }}{{ measure }}, {{ delimiter_text }}) within group (order by {{ order_by }})
{%- endmacro %}

{#- round() on PostgreSQL only takes numeric: cast first on every target, then back to float so marts have
    the same column type (and unit-test comparisons the same text) on DuckDB and PostgreSQL. -#}
{% macro rnd(expr, digits=2) -%}
    cast(round(cast({{ expr }} as decimal(28, 8)), {{ digits }}) as {{ type_double() }})
{%- endmacro %}

{#- Float division that yields null instead of an error on zero. -#}
{% macro safe_div(num, den) -%}
    (cast({{ num }} as {{ type_double() }}) / nullif(cast({{ den }} as {{ type_double() }}), 0))
{%- endmacro %}

{#- Min-max scaling to [0, 1] over the whole result set; 0 when every value is equal, null stays null. -#}
{% macro minmax(expr) -%}
    case
        when {{ expr }} is null then null
        when max({{ expr }}) over () = min({{ expr }}) over () then 0.0
        else cast({{ expr }} - min({{ expr }}) over () as {{ type_double() }})
             / cast(max({{ expr }}) over () - min({{ expr }}) over () as {{ type_double() }})
    end
{%- endmacro %}

{#- Clamp to [lo, hi]. -#}
{% macro clamp(expr, lo=0, hi=1) -%}
    case when {{ expr }} is null then null
         when {{ expr }} < {{ lo }} then {{ lo }}
         when {{ expr }} > {{ hi }} then {{ hi }}
         else {{ expr }} end
{%- endmacro %}

{% macro as_date(expr) -%}
    cast({{ expr }} as date)
{%- endmacro %}

{#- Monday of the week of a date, as a date. -#}
{% macro week_of(expr) -%}
    cast({{ dbt.date_trunc('week', expr) }} as date)
{%- endmacro %}

{% macro add_days(n, expr) -%}
    cast({{ dbt.dateadd('day', n, expr) }} as date)
{%- endmacro %}

{#- Hours between two timestamps (fractional). -#}
{% macro hours_between(start, stop) -%}
    (cast({{ dbt.datediff(start, stop, 'minute') }} as {{ type_double() }}) / 60.0)
{%- endmacro %}

{#- Customer names as the systems spell them differ in full-width brackets, company suffixes and spaces. -#}
{% macro normalise_name(expr) -%}
    replace(replace(replace(replace(replace(replace(replace(replace(trim({{ expr }}),
        ' ', ''), '(', '（'), ')', '）'), '股份有限公司', ''), '有限责任公司', ''), '有限公司', ''), '集团', ''), '股份', '')
{%- endmacro %}

{#- A scalar business parameter from the business_parameters seed. -#}
{% macro param(name) -%}
    (select max(value) from {{ ref('business_parameters') }} where parameter = '{{ name }}')
{%- endmacro %}

{#- The seed's words for the efficiency dimensions it states in words (efficiency_baselines): a model-iteration
    cadence in days, a share of key customers with an automatic quarterly value report; null for the others. -#}
{% macro efficiency_label(dimension, value) -%}
    case
        when {{ value }} is null then null
        when {{ dimension }} = 'forecast_model_iteration' then
            case when {{ value }} <= 10 then 'weekly' when {{ value }} <= 45 then 'monthly'
                 when {{ value }} <= 100 then 'quarterly' else 'less often than quarterly' end
        when {{ dimension }} = 'value_tracking' then
            case when {{ value }} <= 0 then 'missing' when {{ value }} >= 1 then 'automatic quarterly report'
                 else 'automatic quarterly report for part of the key customers' end
    end
{%- endmacro %}

{#- Whole weeks from one date to another, truncated toward zero (DuckDB's date_diff('week', ...)). -#}
{% macro whole_weeks_between(start, stop) -%}
    {{ adapter.dispatch('whole_weeks_between', 'lodestar')(start, stop) }}
{%- endmacro %}

{% macro default__whole_weeks_between(start, stop) -%}
    cast(trunc(({{ as_date(stop) }} - {{ as_date(start) }}) / 7.0) as integer)
{%- endmacro %}

{#- Spark: date - date is an interval, and a cast of a double to int already truncates toward zero. -#}
{% macro spark__whole_weeks_between(start, stop) -%}
    cast(datediff({{ as_date(stop) }}, {{ as_date(start) }}) / 7.0 as integer)
{%- endmacro %}
