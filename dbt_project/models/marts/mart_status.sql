-- One row per mart that declares what it needs (meta lodestar_needs in dbt_project.yml): the needed raw tables,
-- those that have not landed or are empty for this company, the status ("ready" / "needs raw.pos_scans") and
-- the mart's row count. A mart whose needs are unmet is empty (tests/assert_marts_with_unmet_needs_are_empty.sql).
-- Each mart is a dependency (so this runs after them and their raw tables):
-- depends_on: {{ ref('access_policy') }}
-- depends_on: {{ ref('complaint_hotwords') }}
-- depends_on: {{ ref('crm_pos_reconciliation') }}
-- depends_on: {{ ref('csg_health') }}
-- depends_on: {{ ref('customer_360') }}
-- depends_on: {{ ref('customer_complexity') }}
-- depends_on: {{ ref('customer_health') }}
-- depends_on: {{ ref('customer_matrix') }}
-- depends_on: {{ ref('forecast_training_features') }}
-- depends_on: {{ ref('influence_stakeholders') }}
-- depends_on: {{ ref('launch_reconciliation') }}
-- depends_on: {{ ref('team_sizing') }}
-- depends_on: {{ ref('value_realization') }}
-- The indentation rule misreads the jinja loop below: off in this file.
-- noqa: disable=LT02
{%- set marts = marts_with_needs() %}
{%- for name, needs in marts %}
{%- if 'model.lodestar.' ~ name not in model.depends_on.nodes %}
{{ exceptions.raise_compiler_error("mart_status: " ~ name ~ " declares lodestar_needs: add a `-- depends_on: {{ ref('" ~ name ~ "') }}` line") }}
{%- endif %}
{%- set unmet = unmet_needs(needs) %}
select
    cast('{{ name }}' as {{ dbt.type_string() }}) as mart,
    cast('{{ needs | join(", ") }}' as {{ dbt.type_string() }}) as needs,
    cast({{ "'" ~ (unmet | join(", ")) ~ "'" if unmet else 'null' }} as {{ dbt.type_string() }}) as unmet_needs,
    cast('{{ needs_status(unmet) }}' as {{ dbt.type_string() }}) as status,
    (select count(*) from {{ ref(name) }}) as mart_rows
union all
{%- endfor %}
select
    cast(null as {{ dbt.type_string() }}) as mart,
    cast(null as {{ dbt.type_string() }}) as needs,
    cast(null as {{ dbt.type_string() }}) as unmet_needs,
    cast(null as {{ dbt.type_string() }}) as status,
    cast(0 as {{ dbt.type_bigint() }}) as mart_rows
where 1 = 0
