-- First-month (launch window) sell-through of every SKU launched while POS data exists: CRM vs POS.
with launches as (
    select
        k.sku_id,
        k.sku_name,
        k.barcode,
        k.launch_date
    from {{ ref('stg_erp__skus') }} as k
    where k.launch_date >= (select min(pw.week_start) from {{ ref('int_pos_weekly') }} as pw)
),

cells as (
    select r.*
    from {{ ref('crm_pos_reconciliation') }} as r
    where r.is_launch_window
)

select
    l.sku_id,
    l.sku_name,
    l.barcode,
    l.launch_date,
    count(distinct c.week_start) as weeks_observed,
    count(distinct c.store_id) as stores,
    cast(coalesce(sum(c.pos_units), 0) as {{ dbt.type_bigint() }}) as pos_units,
    cast(coalesce(sum(c.crm_units), 0) as {{ dbt.type_bigint() }}) as crm_units,
    {{ rnd(safe_div('sum(c.crm_units) - sum(c.pos_units)', 'sum(c.pos_units)') ~ ' * 100', 1) }} as overstatement_pct,
    cast(sum(case when c.is_flagged then 1 else 0 end) as {{ dbt.type_bigint() }}) as flagged_cells,
    {%- set deviation_share = safe_div('abs(sum(c.crm_units) - sum(c.pos_units))', 'sum(c.pos_units)') %}
    {{ rnd('(' ~ deviation_share ~ ') * 100 * ' ~ param('error_cost_per_deviation_point'), 2) }}
        as error_cost_wan_per_month
from launches as l
left join cells as c on l.sku_id = c.sku_id
group by l.sku_id, l.sku_name, l.barcode, l.launch_date
