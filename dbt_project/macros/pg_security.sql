{#- Least privilege on PostgreSQL (issue 14); every macro renders nothing on other engines.
    Roles (created once by an administrator: `lodestar pg-roles`, lodestar/pgroles.py):
      lodestar_pipeline  owns raw and every schema dbt builds; table owners are not subject to row-level security,
                         so models and data tests always read every row;
      lodestar_analyst   SELECT on the marts, every row (personal data is masked there, macros/pii.sql);
      lodestar_cockpit   SELECT on the marts; in the customer-facing marts only the rows of the principal the
                         session names: `set lodestar.principal = 'account_manager:<id>'`, `'csg:<id>'` or
                         `'sales_director'` (every row); unset, no rows.
    Who sees which customer is marts.access_policy, the table the cockpit's sign-in reads too.
    dbt replaces a table on every build, and grants and policies go with the old one, so the post-hook
    `pg_reader_access()` (every mart) grants and re-creates them on each new table. -#}

{#- on-run-start: the roles must exist, the readers may enter the marts schema, and the policy's lookup function. The function reads marts.access_policy
    by name when called, so a policy depends on no table OID (a policy naming access_policy itself would be
    dropped with the old table each time dbt rebuilds access_policy). -#}
{% macro pg_security_setup() %}
  {%- if target.type == 'postgres' -%}
    do $check$ begin
      if (select count(*) from pg_roles where rolname in ('lodestar_pipeline', 'lodestar_analyst', 'lodestar_cockpit')) < 3 then
        raise exception 'the lodestar_pipeline, lodestar_analyst and lodestar_cockpit roles are missing: an administrator runs `lodestar pg-roles` once (README, Security)';
      end if;
    end $check$;
    create schema if not exists lodestar_security;
    create or replace function lodestar_security.visible_customers() returns setof text
      language plpgsql stable as $body$
      begin
        return query select cast(customer_id as text) from marts.access_policy
          where principal_kind || ':' || principal_id = current_setting('lodestar.principal', true);
      end $body$;
    grant usage on schema lodestar_security to lodestar_cockpit;
    {#- Here, once, not in each mart's post-hook: two threads granting on one schema at once fail with
        "tuple concurrently updated". -#}
    create schema if not exists marts;
    grant usage on schema marts to lodestar_analyst, lodestar_cockpit;
  {%- endif -%}
{% endmacro %}

{#- The rows the session's principal may see, for the key a mart names in `meta: {lodestar_rls: ...}`:
    `customer_id` (a column holding the customer) or `principal` (access_policy itself: its own rows). -#}
{% macro pg_principal_predicate(key) -%}
    current_setting('lodestar.principal', true) = 'sales_director' or
    {%- if key == 'principal' %} principal_kind || ':' || principal_id = current_setting('lodestar.principal', true)
    {%- else %} cast({{ key }} as text) in (select lodestar_security.visible_customers())
    {%- endif -%}
{%- endmacro %}

{#- post-hook of every mart: readers may select it; a mart with `lodestar_rls` gets row-level security. -#}
{% macro pg_reader_access() %}
  {%- if target.type == 'postgres' and model.config.materialized in ('table', 'incremental') -%}
    {%- set key = model.config.get('meta', {}).get('lodestar_rls') -%}
    grant select on {{ this }} to lodestar_analyst, lodestar_cockpit;
    {%- if key %}
    alter table {{ this }} enable row level security;
    drop policy if exists analyst_every_row on {{ this }};
    create policy analyst_every_row on {{ this }} for select to lodestar_analyst using (true);
    drop policy if exists cockpit_principal_rows on {{ this }};
    create policy cockpit_principal_rows on {{ this }} for select to lodestar_cockpit
      using ({{ pg_principal_predicate(key) }});
    {%- endif -%}
  {%- endif -%}
{% endmacro %}
