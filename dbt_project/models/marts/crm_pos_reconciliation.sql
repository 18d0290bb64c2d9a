-- CRM-reported vs POS-observed sell-through per store x SKU x week, with a flag and its reason.
with pos as (select * from {{ ref('int_pos_weekly') }}),
crm as (select * from {{ ref('int_crm_sell_through_weekly') }}),
window_weeks as (select min(week_start) as first_week, max(week_start) as last_week from pos),

cells as (
    select
        coalesce(p.store_id, c.store_id) as store_id,
        coalesce(p.sku_id, c.sku_id) as sku_id,
        coalesce(p.week_start, c.week_start) as week_start,
        coalesce(p.pos_units, 0) as pos_units,
        c.crm_units,
        coalesce(c.n_reports, 0) as n_reports,
        c.account_manager_id
    from pos p
    full outer join crm c
      on c.store_id = p.store_id and c.sku_id = p.sku_id and c.week_start = p.week_start
),

with_neighbours as (
    select
        cells.*,
        lag(week_start) over (partition by store_id, sku_id order by week_start) as prev_week,
        lag(pos_units) over (partition by store_id, sku_id order by week_start) as prev_pos_units,
        lag(crm_units) over (partition by store_id, sku_id order by week_start) as prev_crm_units,
        lead(week_start) over (partition by store_id, sku_id order by week_start) as next_week,
        lead(pos_units) over (partition by store_id, sku_id order by week_start) as next_pos_units,
        lead(crm_units) over (partition by store_id, sku_id order by week_start) as next_crm_units
    from cells
    cross join window_weeks w
    where cells.week_start between w.first_week and w.last_week
),

classified as (
    select
        n.*,
        case
            when n_reports > 1 then 'double_count'
            -- A week reported one week late: nothing this week, next week carries both weeks' units.
            when crm_units is null and pos_units > 0 and next_week = {{ add_days(7, 'week_start') }}
                 and next_crm_units - next_pos_units = pos_units then 'timing_shift'
            when prev_week = {{ add_days(-7, 'week_start') }} and prev_crm_units is null and prev_pos_units > 0
                 and crm_units - pos_units = prev_pos_units then 'timing_shift'
            when crm_units is null and pos_units > 0 then 'missing_report'
            when crm_units - pos_units > {{ param('reconciliation_unit_tolerance') }} then 'over_reporting'
            when pos_units - crm_units > {{ param('reconciliation_unit_tolerance') }} then 'under_reporting'
        end as flag_reason
    from with_neighbours n
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
    c.pos_units,
    coalesce(c.crm_units, 0) as crm_units,
    c.n_reports,
    coalesce(c.crm_units, 0) - c.pos_units as unit_deviation,
    {{ rnd(safe_div('coalesce(c.crm_units, 0) - c.pos_units', 'c.pos_units') ~ ' * 100', 1) }} as deviation_pct,
    c.flag_reason is not null as is_flagged,
    c.flag_reason,
    c.week_start >= k.launch_date
        and c.week_start < {{ add_days('cast(7 * ' ~ param('launch_window_weeks') ~ ' as integer)', 'k.launch_date') }} as is_launch_window
from classified c
left join {{ ref('stg_pos__stores') }} st on st.store_id = c.store_id
left join {{ ref('stg_erp__skus') }} k on k.sku_id = c.sku_id
left join {{ ref('int_customer_accounts') }} ca on ca.customer_id = st.customer_id
left join {{ ref('stg_crm__accounts') }} am on am.account_id = ca.account_id
