{#- The company's calendar (lodestar.yaml `calendar:`, passed as dbt vars by lodestar.company.dbt_vars): the day
    its weeks start on (`lodestar_week_start`) and the month its fiscal year starts in
    (`lodestar_fiscal_year_start_month`). The defaults, Monday weeks and calendar quarters, render exactly the SQL
    of week_of() and date_trunc('quarter'). One week serves everything: POS and health weeks and the forecast
    grain (int_demand_weekly, forecast_training_features, int_scenario_inputs), as the forecaster
    (ForecastConfig.week_start) and the weekly forecast partitions and schedule count them. -#}

{#- The first day of the company's week holding a date, as a date: the Monday week shifted by the days from
    the company's week start to the next Monday. -#}
{% macro company_week(expr) -%}
    {%- set days = {'monday': 0, 'sunday': 1, 'saturday': 2, 'friday': 3, 'thursday': 4, 'wednesday': 5,
                    'tuesday': 6} -%}
    {#- the company file validates the day and the month (lodestar.company.Calendar) -#}
    {%- set shift = days.get(var('lodestar_week_start', 'monday') | string | lower, 0) -%}
    {%- if shift == 0 -%}
        {{ week_of(expr) }}
    {%- else -%}
        {{ add_days(-shift, week_of(add_days(shift, expr))) }}
    {%- endif -%}
{%- endmacro %}

{#- The first day of the fiscal quarter holding a date, as a date. `shift`: the months from a date to its fiscal
    twin, whose calendar year and quarter are the fiscal year and quarter: a fiscal year starting in April is named
    by the year it ends in (FY2027 = 2026-04 .. 2027-03), so April 2026 + 9 months = January 2027; 0 for a fiscal
    year starting in January. (Computed in each macro, not returned by a helper: the SQL linter's templater ends a
    caller at a `return` of a macro of the same file.) -#}
{% macro fiscal_quarter(expr) -%}
    {%- set shift = (13 - (var('lodestar_fiscal_year_start_month', 1) | int)) % 12 -%}
    {%- if shift == 0 -%}
        cast({{ dbt.date_trunc('quarter', expr) }} as date)
    {%- else -%}
        cast({{ dbt.dateadd('month', -shift, dbt.date_trunc('quarter', dbt.dateadd('month', shift, expr))) }} as date)
    {%- endif -%}
{%- endmacro %}

{#- The fiscal quarter holding a date as its label, `2026Q3` (fiscal year, quarter), the one lodestar's value
    reports are filed under (lodestar.company.Calendar.quarter_label). -#}
{% macro fiscal_quarter_label(expr) -%}
    {%- set shift = (13 - (var('lodestar_fiscal_year_start_month', 1) | int)) % 12 -%}
    {%- set twin = expr if shift == 0 else dbt.dateadd('month', shift, expr) -%}
    cast(cast(extract(year from {{ twin }}) as integer) as {{ dbt.type_string() }}) || 'Q'
        || cast(cast(extract(quarter from {{ twin }}) as integer) as {{ dbt.type_string() }})
{%- endmacro %}
