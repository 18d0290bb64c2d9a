-- Each weight seed sums to 1: a weight edited without rebalancing the others fails the build.
select
    'complexity_weights' as seed,
    sum(weight) as total
from {{ ref('complexity_weights') }}
having abs(sum(weight) - 1) > 0.000001
union all
select
    'health_weights' as seed,
    sum(weight) as total
from {{ ref('health_weights') }}
having abs(sum(weight) - 1) > 0.000001
