"""What each cockpit page reads from the snapshot, already cut to what the signed-in principal may see.

Every value from a request is a bound parameter; table and column names are fixed strings in this module.
A table the snapshot does not hold (a part of the graph not yet materialised) reads as no rows.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from lodestar import currency
from lodestar.cockpit.users import USERS_TABLE, Principal, access_policy_sql
from lodestar.readpath import Snapshot


class NotVisible(LookupError):
    """The principal may not see this object (answered as 404: its existence is not confirmed either)."""


class Reader:
    """One read-only connection to one immutable snapshot; a cursor per query (DuckDB cursors are thread-safe)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._con = duckdb.connect(str(snapshot.path), read_only=True)
        self._lock = threading.Lock()
        rows = self._con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        self.present: set[tuple[str, str]] = {(s, t) for s, t in rows}
        self._currency: str | None = None

    @property
    def currency(self) -> str:
        """The company's currency: ``marts.customer_360.currency`` (the company file's), the default before the
        snapshot has a customer 360 with it. Read once per snapshot."""
        if self._currency is None:
            value = None
            if self.has("marts", "customer_360"):
                cols = self.df("select column_name from information_schema.columns where table_schema = 'marts' "
                               "and table_name = 'customer_360' and column_name = 'currency'")
                if len(cols):
                    r = self.df("select mode(currency) as c from marts.customer_360")
                    value = r["c"].iloc[0] if len(r) else None
            self._currency = currency.code(value)
        return self._currency

    def close(self) -> None:
        self._con.close()

    @property
    def path(self) -> Path:
        return self.snapshot.path

    def has(self, schema: str, table: str) -> bool:
        return (schema, table) in self.present

    def df(self, sql: str, params: list | tuple = ()) -> pd.DataFrame:
        cur = self._con.cursor()
        try:
            return cur.execute(sql, list(params)).df()
        finally:
            cur.close()

    def records(self, sql: str, params: list | tuple = (), needs: tuple[tuple[str, str], ...] = ()) -> list[dict]:
        if any(t not in self.present for t in needs):
            return []
        return to_records(self.df(sql, params))


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        return None if math.isnan(v) or math.isinf(v) else round(float(v), 4)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, pd.Timestamp | datetime | date):
        return None if pd.isna(v) else v.isoformat()[:10] if not isinstance(v, datetime) or v == v.replace(
            hour=0, minute=0, second=0, microsecond=0) else v.isoformat(sep=" ", timespec="minutes")
    if isinstance(v, np.ndarray | list | tuple):
        return [_clean(x) for x in v]
    if v is pd.NaT:
        return None
    return v


def to_records(df: pd.DataFrame) -> list[dict]:
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict("records")]


@dataclass(frozen=True)
class Scope:
    """What a principal sees: ``customers`` None means every customer."""

    principal: Principal
    customers: tuple[str, ...] | None
    region: str | None = None  # an account manager's region

    @property
    def is_director(self) -> bool:
        return self.principal.role == "sales_director"

    @property
    def account_manager_id(self) -> str | None:
        return self.principal.principal_id if self.principal.role == "account_manager" else None

    @property
    def csg_id(self) -> str | None:
        return self.principal.principal_id if self.principal.role == "csg_member" else None

    def sees(self, customer_id: str) -> bool:
        return self.customers is None or customer_id in self.customers


def lookup_user(reader: Reader, username: str) -> dict | None:
    if not reader.has(*USERS_TABLE):
        return None
    rows = reader.records("select * from raw.cockpit_users where username = ?", [username])
    return rows[0] if rows else None


def scope_for(reader: Reader, principal: Principal) -> Scope:
    if principal.role == "sales_director":
        return Scope(principal, None)
    kind = "account_manager" if principal.role == "account_manager" else "csg"
    if not reader.has("marts", "customer_360"):
        return Scope(principal, ())
    ids = reader.df(f"select distinct customer_id from ({access_policy_sql(reader.present)}) p "
                    "where principal_kind = ? and principal_id = ? order by 1", [kind, principal.principal_id])
    region = None
    if kind == "account_manager" and reader.has("staging", "stg_crm__account_managers"):
        r = reader.df("select region from staging.stg_crm__account_managers where account_manager_id = ?",
                      [principal.principal_id])
        region = str(r["region"].iloc[0]) if len(r) else None
    return Scope(principal, tuple(ids["customer_id"].astype(str)), region)


def _cust_filter(scope: Scope, column: str = "customer_id") -> tuple[str, list]:
    """`` and <column> in (the principal's customers)`` as SQL plus its bound parameter (empty for a director)."""
    if scope.customers is None:
        return "", []
    return f" and list_contains(?::varchar[], {column})", [list(scope.customers)]


# ------------------------------------------------------------------------------------------- warning lights
def warning_lights(reader: Reader, scope: Scope) -> list[dict]:
    if not reader.has("marts", "warning_lights"):
        return []
    sql = "select * from marts.warning_lights where true"
    params: list = []
    if not scope.is_director:
        csgs = visible_csg_ids(reader, scope)
        sql += " and ((scope_type = 'csg' and list_contains(?::varchar[], scope_id))"
        params.append(csgs)
        if scope.region:
            sql += " or (scope_type = 'region' and scope_id = ?)"
            params.append(scope.region)
        sql += ")"
    sql += " order by case headline_colour when 'red' then 0 when 'yellow' then 1 when 'green' then 2 else 3 end, " \
           "scope_type desc, scope_id"
    return reader.records(sql, params)


def visible_csg_ids(reader: Reader, scope: Scope) -> list[str]:
    if not reader.has("marts", "csg_health"):
        return []
    if scope.csg_id:
        return [scope.csg_id]
    f, p = _cust_filter(scope)
    return reader.df(f"select distinct csg_id from marts.csg_health where true{f}", p)["csg_id"].astype(str).tolist()


def light_reasons(reader: Reader, scope: Scope, scope_type: str, scope_id: str) -> dict:
    """The reason behind a light: deviation weeks (red), overdue tasks (yellow), request months (green)."""
    if not any(r["scope_type"] == scope_type and r["scope_id"] == scope_id for r in warning_lights(reader, scope)):
        raise NotVisible(f"{scope_type} {scope_id}")
    out: dict = {"scope_type": scope_type, "scope_id": scope_id}
    out["deviation_weeks"] = reader.records(
        "select week_start, forecast_units, actual_units, deviation from intermediate.int_forecast_deviation_weekly "
        "where scope_type = ? and scope_id = ? and week_start < (select as_of_date from intermediate.int_as_of) "
        "order by week_start desc limit 6", [scope_type, scope_id],
        needs=(("intermediate", "int_forecast_deviation_weekly"), ("intermediate", "int_as_of")))
    csg_sql = "g.csg_id = ?" if scope_type == "csg" else "g.region = ?"
    out["overdue_tasks"] = reader.records(
        f"""select t.task_id, t.csg_id, g.csg_name, t.title, t.due_date, t.task_status
            from staging.stg_crm__csg_tasks t join marts.csg_health g using (csg_id)
            where {csg_sql} and t.completed_date is null
              and t.due_date < (select as_of_date from intermediate.int_as_of)
            order by t.due_date limit 50""", [scope_id],
        needs=(("staging", "stg_crm__csg_tasks"), ("marts", "csg_health"), ("intermediate", "int_as_of")))
    out["request_months"] = reader.records(
        "select month_start, requests from intermediate.int_custom_requests_monthly where scope_type = ? and "
        "scope_id = ? order by month_start desc limit 6", [scope_type, scope_id],
        needs=(("intermediate", "int_custom_requests_monthly"),))
    return out


# ------------------------------------------------------------------------------------------------ matrix
def matrix(reader: Reader, scope: Scope) -> dict:
    f, p = _cust_filter(scope)
    points = reader.records(f"select * from marts.customer_matrix where true{f} order by customer_id", p,
                            needs=(("marts", "customer_matrix"),))
    pilots = [r for r in points if r["quadrant"] == "high_value_high_complexity" and not r["is_csg_member"]
              and r["csg_pilot_rank"] is not None]
    pilots.sort(key=lambda r: r["csg_pilot_rank"])
    sizing_sql, sp = "select * from marts.team_sizing where true", []
    if not scope.is_director:
        clusters = [] if scope.customers is None else reader.df(
            "select distinct cluster_id from marts.customer_360 where list_contains(?::varchar[], customer_id)",
            [list(scope.customers)])["cluster_id"].dropna().astype(str).tolist()
        sizing_sql += " and list_contains(?::varchar[], cluster_id)"
        sp.append(clusters)
    sizing = reader.records(sizing_sql + " order by cluster_id", sp, needs=(("marts", "team_sizing"),))
    return {"points": points, "pilots": pilots[:20], "team_sizing": sizing}


# ---------------------------------------------------------------------------------------------- customers
def customers(reader: Reader, scope: Scope, q: str | None = None) -> list[dict]:
    f, p = _cust_filter(scope)
    sql = ("select customer_id, legal_name, region, tier, account_manager_id, health_score, health_colour, "
           f"complexity_score, csg_id from marts.customer_360 where true{f}")
    if q:
        sql += " and (customer_id ilike ? or legal_name ilike ?)"
        p += [f"%{q}%", f"%{q}%"]
    return reader.records(sql + " order by legal_name limit 500", p, needs=(("marts", "customer_360"),))


HEALTH_INDICATORS = ("nps", "on_time_payment_rate", "repeat_purchase_penetration", "ticket_resolution", "engagement",
                     "renewal_proximity", "complaint_rate", "usage")
COMPLEXITY_DIMENSIONS = ("annual_purchase_amount", "product_line_breadth", "customisation_depth",
                         "multi_factory_coordination", "decision_makers", "delivery_sites", "integration_points",
                         "contract_terms", "ticket_load", "geographic_spread", "payment_terms")


def customer(reader: Reader, scope: Scope, customer_id: str) -> dict:
    """Everything of the customer page; NotVisible when the principal may not see the customer (or it is unknown)."""
    if not scope.sees(customer_id):
        raise NotVisible(customer_id)
    c360 = reader.records("select * from marts.customer_360 where customer_id = ?", [customer_id],
                          needs=(("marts", "customer_360"),))
    if not c360:
        raise NotVisible(customer_id)
    out: dict = {"customer": c360[0]}
    out["identity"] = reader.records(
        "select system, system_key, system_name, match_rule from intermediate.int_customer_identity "
        "where customer_id = ? order by system", [customer_id], needs=(("intermediate", "int_customer_identity"),))
    health = reader.records("select * from marts.customer_health where customer_id = ?", [customer_id],
                            needs=(("marts", "customer_health"),))
    out["health"] = health[0] if health else None
    out["health_indicators"] = [{"indicator": k, "value": health[0].get(k)} for k in HEALTH_INDICATORS] if health else []
    cx = reader.records("select * from marts.customer_complexity where customer_id = ?", [customer_id],
                        needs=(("marts", "customer_complexity"),))
    out["complexity"] = {"score": cx[0]["complexity_score"], "rank": cx[0]["complexity_rank"],
                         "contributions": [{"dimension": d, "value": cx[0].get(f"{d}_value"),
                                            "norm": cx[0].get(f"{d}_norm"),
                                            "contribution": cx[0].get(f"{d}_contribution")}
                                           for d in COMPLEXITY_DIMENSIONS]} if cx else None
    out["drop_alerts"] = reader.records("select * from marts.drop_alerts where customer_id = ?", [customer_id],
                                        needs=(("marts", "drop_alerts"),))
    out["intel_facts"] = reader.records(
        "select doc_id, file_name, fact_type, fact_subtype, direction, facts, key_values from marts.industry_intel "
        "where list_contains(string_split(coalesce(linked_customer_ids, ''), ','), ?) limit 50", [customer_id],
        needs=(("marts", "industry_intel"),))
    out["complaint_heat"] = reader.records(
        "select week_start, complaint_heat as heat, competitor_mentions from staging.stg_intel__complaint_heat where customer_id = ? "
        "order by week_start", [customer_id], needs=(("staging", "stg_intel__complaint_heat"),))
    out["value_realization"] = reader.records(
        "select kpi_name, kpi_unit, quarter_start, baseline_value, quarter_value, change_since_engagement, change_pct, "
        "is_after_engagement from marts.value_realization where customer_id = ? order by kpi_name, quarter_start",
        [customer_id], needs=(("marts", "value_realization"),))
    out["value_reports"] = value_reports(reader, customer_id)
    return out


def value_reports(reader: Reader, customer_id: str) -> list[dict]:
    return reader.records("select quarter, pdf_path, html_path, created_at from raw.value_reports "
                          "where customer_id = ? order by quarter desc", [customer_id],
                          needs=(("raw", "value_reports"),))


# ------------------------------------------------------------------------------------------ CSG workbench
CLOSED_TASKS_SHOWN = 5
def csg_workbench(reader: Reader, scope: Scope) -> dict:
    csgs = visible_csg_ids(reader, scope)
    groups = reader.records("select * from marts.csg_health where list_contains(?::varchar[], csg_id) order by csg_id",
                            [csgs], needs=(("marts", "csg_health"),))
    members = reader.records(
        "select csg_id, membership_id, member_name, member_function, member_role from staging.stg_crm__csg_members "
        "where list_contains(?::varchar[], csg_id) order by csg_id, member_role, member_name", [csgs],
        needs=(("staging", "stg_crm__csg_members"),))
    # Every open and overdue task, and the latest CLOSED_TASKS_SHOWN closed ones per group (the counts and rates
    # in `groups` cover all of them): at scale 1 the director's page held 594 closed tasks of 818, 154 KB of HTML.
    tasks = reader.records(
        f"""select t.csg_id, t.task_id, t.title, t.due_date, t.completed_date, t.knowledge_captured,
                  case when t.completed_date is not null then 'closed'
                       when t.due_date < (select as_of_date from intermediate.int_as_of) then 'overdue'
                       else 'open' end as state
           from staging.stg_crm__csg_tasks t where list_contains(?::varchar[], t.csg_id)
           qualify t.completed_date is null or row_number() over (
               partition by t.csg_id, t.completed_date is null order by t.completed_date desc, t.task_id
           ) <= {CLOSED_TASKS_SHOWN}
           order by t.csg_id, state desc, t.due_date""", [csgs],
        needs=(("staging", "stg_crm__csg_tasks"), ("intermediate", "int_as_of")))
    return {"groups": groups, "members": members, "tasks": tasks}


# ----------------------------------------------------------------------------------------- reconciliation
def reconciliation(reader: Reader, scope: Scope) -> dict:
    f, p = _cust_filter(scope)
    am = scope.account_manager_id
    by_chain = reader.records(
        f"""select chain_name, flag_reason, count(*) as cells, sum(crm_units) as crm_units, sum(pos_units) as pos_units,
                   sum(unit_deviation) as unit_deviation
            from marts.crm_pos_reconciliation where is_flagged{f} group by all order by cells desc limit 100""", p,
        needs=(("marts", "crm_pos_reconciliation"),))
    cells = reader.records(
        f"""select chain_name, store_id, sku_id, sku_name, week_start, crm_units, pos_units, deviation_pct, flag_reason
            from marts.crm_pos_reconciliation where is_flagged{f}
            order by abs(unit_deviation) desc limit 100""", p, needs=(("marts", "crm_pos_reconciliation"),))
    launch = reader.records("select * from marts.launch_reconciliation order by launch_date",
                            needs=(("marts", "launch_reconciliation"),)) if scope.csg_id is None else []
    rsql = "select * from marts.replenishment_suggestions where is_flagged"
    rp: list = []
    if not scope.is_director:
        rsql += " and account_manager_id = ?"
        rp.append(am or "")
    replen = reader.records(rsql + " order by account_manager_id, suggested_qty desc limit 300", rp,
                            needs=(("marts", "replenishment_suggestions"),))
    return {"by_chain": by_chain, "cells": cells, "launch": launch, "replenishment": replen}


# ---------------------------------------------------------------------------------------------- efficiency
def efficiency(reader: Reader) -> list[dict]:
    return reader.records("select * from marts.efficiency_benchmark order by dimension",
                          needs=(("marts", "efficiency_benchmark"),))


# ------------------------------------------------------------------------------------------------ scenarios
def saved_scenarios(reader: Reader) -> list[dict]:
    return reader.records(
        "select scenario_name, any_value(levers_json) as levers_json, any_value(changed_levers) as changed_levers, "
        "max(created_at) as created_at, sum(y_base) as total_base, sum(y_scenario) as total_scenario "
        "from raw.forecast_scenarios group by scenario_name order by max(created_at) desc",
        needs=(("raw", "forecast_scenarios"),))
