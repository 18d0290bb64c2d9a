"""The PostgreSQL roles of the warehouse (least privilege), created once by an administrator.

``lodestar_pipeline`` lands raw and builds every dbt model; ``lodestar_analyst`` and ``lodestar_cockpit`` read
the marts. What each reader may see is granted by the pipeline's own ``dbt build --target postgres`` (grants and
row-level security are re-applied to every table dbt rebuilds: dbt_project/macros/pg_security.sql).
"""

from __future__ import annotations

import os

from lodestar.warehouse import quote_ident

# role -> the environment variable its password comes from (a role without one can log in only where
# pg_hba.conf lets it in without a password)
ROLES = {
    "lodestar_pipeline": "LODESTAR_PG_PIPELINE_PASSWORD",
    "lodestar_analyst": "LODESTAR_PG_ANALYST_PASSWORD",
    "lodestar_cockpit": "LODESTAR_PG_COCKPIT_PASSWORD",
}
PIPELINE = "lodestar_pipeline"
READERS = ("lodestar_analyst", "lodestar_cockpit")
# Schemas the pipeline writes (raw by the connectors and lodestar.pgcopy, the rest by dbt).
PIPELINE_SCHEMAS = ("raw", "seeds", "staging", "intermediate", "marts", "main", "lodestar_security")


def create_roles(dsn: str) -> dict[str, bool]:
    """Create the three roles (idempotent), set each password from its environment variable, let the pipeline
    create schemas in this database and hand it whatever already exists in its schemas. Needs a role with
    CREATEROLE that owns the database's existing objects (the cluster's administrator).

    Returns, per role, whether a password was set."""
    import psycopg2  # only the PostgreSQL path needs it

    passwords: dict[str, bool] = {}
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            for role, env in ROLES.items():
                cur.execute("select 1 from pg_roles where rolname = %s", [role])
                if cur.fetchone() is None:
                    cur.execute(f"create role {role} login nosuperuser nocreatedb nocreaterole")
                password = os.environ.get(env)
                if password:
                    # a bound parameter; the server stores its SCRAM verifier, never the text
                    cur.execute(f"alter role {role} password %s", [password])
                passwords[role] = bool(password)
            cur.execute("select current_database()")
            db = quote_ident(cur.fetchone()[0])
            cur.execute(f"grant connect, create on database {db} to {PIPELINE}")
            cur.execute(f"grant connect on database {db} to {', '.join(READERS)}")
            for schema in PIPELINE_SCHEMAS:
                cur.execute("select 1 from pg_namespace where nspname = %s", [schema])
                if cur.fetchone() is None:
                    continue
                cur.execute(f"alter schema {quote_ident(schema)} owner to {PIPELINE}")
                cur.execute("select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                            "where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p')", [schema])
                for name, kind in cur.fetchall():
                    what = {"v": "view", "m": "materialized view"}.get(kind, "table")
                    cur.execute(f"alter {what} {quote_ident(schema)}.{quote_ident(name)} owner to {PIPELINE}")
                cur.execute("select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
                            "where n.nspname = %s", [schema])
                for (signature,) in cur.fetchall():
                    cur.execute(f"alter function {signature} owner to {PIPELINE}")
    finally:
        conn.close()
    return passwords
