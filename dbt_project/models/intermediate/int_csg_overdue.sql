-- CSG tasks due and overdue at the as-of date, per CSG and per region.
select
    'csg' as scope_type,
    csg_id as scope_id,
    tasks_due,
    tasks_overdue
from {{ ref('csg_health') }}
union all
select
    'region',
    region,
    sum(tasks_due),
    sum(tasks_overdue)
from {{ ref('csg_health') }}
where region is not null
group by region
