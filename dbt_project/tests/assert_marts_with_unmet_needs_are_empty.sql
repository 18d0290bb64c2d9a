-- A mart whose needed sources are missing must be empty: rows there would be zeros or invented values.
select
    mart,
    status,
    mart_rows
from {{ ref('mart_status') }}
where status <> 'ready' and mart_rows > 0
