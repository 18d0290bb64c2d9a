-- Stock per distributor x SKU on the newest distributor inventory snapshot (on hand and in transit summed over
-- the snapshot's rows), with the SKU's lead time: the replenishment suggestions' starting position.
with inventory as (
    select
        snapshot_date,
        distributor_id,
        sku_id,
        on_hand,
        in_transit
    from {{ ref('stg_distributor__inventory') }}
),

newest_snapshot as (
    select max(snapshot_date) as snapshot_date from inventory
)

select
    inventory.snapshot_date,
    inventory.distributor_id as holder_id,
    inventory.sku_id,
    sum(inventory.on_hand) as on_hand,
    sum(coalesce(inventory.in_transit, 0)) as in_transit,
    coalesce(max(skus.lead_time_days), {{ var('default_lead_time_days') }}) as lead_time_days
from inventory
inner join newest_snapshot using (snapshot_date)
left join {{ ref('int_skus') }} as skus using (sku_id)
group by inventory.snapshot_date, inventory.distributor_id, inventory.sku_id
