-- Industry intelligence by document and fact type: what each inbox document says (policy measures, risks,
-- capacity, ESG, demand), the values found, the customers it names and whether it is a tailwind or headwind.
with docs as (
    select * from {{ ref('stg_intel__documents') }}
),

facts as (
    select * from {{ ref('stg_intel__facts') }}
),

doc_customers as (
    -- a document that names a customer concerns that customer in every one of its facts
    select
        f.doc_id,
        f.linked_customer_id as customer_id
    from facts as f
    where f.linked_customer_id is not null
    group by f.doc_id, f.linked_customer_id
),

linked as (
    select
        dc.doc_id,
        count(*) as linked_customers,
        {{ ordered_listagg('dc.customer_id', "'; '", 'dc.customer_id') }} as linked_customer_ids,
        {{ ordered_listagg('c.legal_name', "'; '", 'dc.customer_id') }} as linked_customer_names
    from doc_customers as dc
    left join {{ ref('stg_erp__customers') }} as c on dc.customer_id = c.customer_id
    group by dc.doc_id
),

typed as (
    select
        doc_id,
        fact_type,
        fact_subtype,
        count(*) as facts,
        avg(confidence) as mean_confidence,
        count(distinct page) as pages_with_fact,
        {%- set key_value = "case when entity_label in ('MONEY', 'PERCENT', 'QUANTITY', 'STANDARD', 'POLICY', "
                            ~ "'DEADLINE') then fact_value || coalesce(fact_unit, '') end" %}
        {{ ordered_listagg(key_value, "'; '", key_value, distinct=true) }} as key_values
    from facts
    where fact_type <> 'mention'
    group by doc_id, fact_type, fact_subtype
)

select
    t.doc_id,
    d.file_name,
    d.document_format,
    d.page_paths,
    d.processed_at,
    t.fact_type,
    t.fact_subtype,
    cast(coalesce(dir.direction, 'neutral') as {{ dbt.type_string() }}) as direction,
    t.facts,
    t.pages_with_fact,
    {{ rnd('t.mean_confidence', 3) }} as mean_confidence,
    t.key_values,
    coalesce(l.linked_customers, 0) as linked_customers,
    l.linked_customer_ids,
    l.linked_customer_names
from typed as t
inner join docs as d on t.doc_id = d.doc_id
left join linked as l on t.doc_id = l.doc_id
left join {{ ref('intel_fact_directions') }} as dir
    on t.fact_type = dir.fact_type and coalesce(dir.fact_subtype, '') = coalesce(t.fact_subtype, '')
