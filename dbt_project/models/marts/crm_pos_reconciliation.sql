-- CRM-reported vs POS-observed sell-through per store x SKU x week, with a flag and its reason.
with pos as (select * from {{ ref('int_pos_weekly') }}),

crm as (select * from {{ ref('int_crm_sell_through_weekly') }}),

window_weeks as (
    select
        min(week_start) as first_week,
        max(week_start) as last_week
    from pos
),

cells as (
    select
        coalesce(p.store_id, c.store_id) as store_id,
        coalesce(p.sku_id, c.sku_id) as sku_id,
        coalesce(p.week_start, c.week_start) as week_start,
        coalesce(p.pos_units, 0) as pos_units,
        c.crm_units,
        coalesce(c.n_reports, 0) as n_reports,
        c.account_manager_id
    from pos as p
    full outer join crm as c
        on p.store_id = c.store_id and p.sku_id = c.sku_id and p.week_start = c.week_start
),

with_neighbours as (
    select
        cells.*,
        lag(cells.week_start)
            over (partition by cells.store_id, cells.sku_id order by cells.week_start)
            as prev_week,
        lag(cells.pos_units)
            over (partition by cells.store_id, cells.sku_id order by cells.week_start)
            as prev_pos_units,
        lag(cells.crm_units)
            over (partition by cells.store_id, cells.sku_id order by cells.week_start)
            as prev_crm_units,
        lead(cells.week_start)
            over (partition by cells.store_id, cells.sku_id order by cells.week_start)
            as next_week,
        lead(cells.pos_units)
            over (partition by cells.store_id, cells.sku_id order by cells.week_start)
            as next_pos_units,
        lead(cells.crm_units)
            over (partition by cells.store_id, cells.sku_id order by cells.week_start)
            as next_crm_units
    from cells
    cross join window_weeks as w
    where cells.week_start between w.first_week and w.last_week
),

classified as (
    select
        n.*,
        case
            when n.n_reports > 1 then 'double_count'
            -- A week reported one week late: nothing this week, next week carries both weeks' units.
            when
                n.crm_units is null and n.pos_units > 0 and n.next_week = {{ add_days(7, 'week_start') }}
                and n.next_crm_units - n.next_pos_units = n.pos_units then 'timing_shift'
            when
                n.prev_week = {{ add_days(-7, 'week_start') }} and n.prev_crm_units is null and n.prev_pos_units > 0
                and n.crm_units - n.pos_units = n.prev_pos_units then 'timing_shift'
            when n.crm_units is null and n.pos_units > 0 then 'missing_report'
            when n.crm_units - n.pos_units > {{ param('reconciliation_unit_tolerance') }} then 'over_reporting'
            when n.pos_units - n.crm_units > {{ param('reconciliation_unit_tolerance') }} then 'under_reporting'
        end as flag_reason
    from with_neighbours as n
)

select
    c.store_id,
    st.customer_id,
    st.chain_name,
    st.region,
    c.sku_id,
    k.sku_name,
    c.week_start,
    coalesce(c.account_manager_id, am.account_manager_id) as account_manager_id,
    cast(c.pos_units as {{ dbt.type_bigint() }}) as pos_units,
    cast(coalesce(c.crm_units, 0) as {{ dbt.type_bigint() }}) as crm_units,
    c.n_reports,
    cast(coalesce(c.crm_units, 0) - c.pos_units as {{ dbt.type_bigint() }}) as unit_deviation,
    {{ rnd(safe_div('coalesce(c.crm_units, 0) - c.pos_units', 'c.pos_units') ~ ' * 100', 1) }} as deviation_pct,
    c.flag_reason is not null as is_flagged,
    c.flag_reason,
    c.week_start >= k.launch_date
    and c.week_start
    < {{ add_days('cast(7 * ' ~ param('launch_window_weeks') ~ ' as integer)', 'k.launch_date') }} as is_launch_window
from classified as c
left join {{ ref('stg_pos__stores') }} as st on c.store_id = st.store_id
left join {{ ref('stg_erp__skus') }} as k on c.sku_id = k.sku_id
left join {{ ref('int_customer_accounts') }} as ca on st.customer_id = ca.customer_id
left join {{ ref('stg_crm__accounts') }} as am on ca.account_id = am.account_id
