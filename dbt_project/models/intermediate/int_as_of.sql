-- The reporting date every mart is computed for (var as_of_date, or the day after the last order).
{% set as_of = var('as_of_date') %}
select
    {% if as_of %}cast('{{ as_of }}' as date){% else %}{{ add_days(1, 'max(order_date)') }}{% endif %} as as_of_date
from {{ ref('stg_erp__orders') }}
