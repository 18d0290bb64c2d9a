-- CSG tasks due and overdue at the as-of date, per CSG and per region.
select
    'csg' as scope_type,
    csg_id as scope_id,
    tasks_due,
    tasks_overdue
from {{ ref('csg_health') }}
union all
select
    'region' as scope_type,
    region as scope_id,
    sum(tasks_due) as tasks_due,
    sum(tasks_overdue) as tasks_overdue
from {{ ref('csg_health') }}
where region is not null
group by region
