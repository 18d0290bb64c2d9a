"""Scenario engine: apply business levers on top of the champion's base forecast without retraining.

Design: the base forecast (reconciled, grain = account manager x SKU x channel x week) is the model's answer
at the default lever values. Each lever acts through one lever-aware input column of the scenario frame
(planned price vs reference, promotion lift and age, SKU age, capacity, health band, ...) as a closed-form
adjustment ``g(lever, input) / g(default, input)`` (or an additive stock push / capacity cut), so defaults
give factor 1 exactly and a change re-forecasts every series in one vectorised pass. Aggregates are sums of
the adjusted grain rows, so every level stays coherent. Sensitivities the sandbox calibrates (price
elasticity, ...) are lever values too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.levers import SPECS, Levers

GRAIN = ("account_manager_id", "sku_id", "channel")
# Neutral value of every lever-aware input: with these, no lever moves the forecast.
DRIVER_DEFAULTS: dict[str, float | str] = {
    "key_share": 0.0,  # share of the series' demand from key (tier A) accounts
    "delivery_delay_days": 0.0,  # expected delivery delay over the horizon
    "material_price_index": 1.0,  # planned material price index / its reference
    "project_share": 0.0,  # share of demand tied to key-account projects
    "safety_stock_units": 0.0,  # standard safety stock of the channel (distributor) series
    "promo_lift": 0.0,  # expected lift of a promotion active in that week
    "weeks_since_promo_start": 0.0,
    "price_rel": 1.0,  # planned price / 13-week reference price
    "weeks_since_launch": np.nan,  # NaN = mature SKU
    "intent_score": 0.0,  # standardised buying-signal intensity, >= 0
    "capacity_units": np.nan,  # grain share of planned capacity; NaN = unconstrained
    "complaint_heat": 0.0,  # competitor-naming complaint heat, >= 0
    "health_band": "green",  # or health_band_weight: demand-weighted band weight of the grain's customers
}
DELAY_LOSS_SPAN_DAYS = 30.0  # delay beyond tolerance at which all at-risk key-account demand is lost
DELAY_MAX_LOSS = 0.5  # share of key-account demand at risk from late delivery
PROJECT_SLIP_WEEKS = 4.0  # mean slip of a key-account project (exponential)
INTENT_LIFT = 0.1  # lift per unit intent score at weight 1
BAND_WEIGHT = {"red": 1.0, "amber": 0.5, "green": 0.0}


class ScenarioError(ValueError):
    """The scenario frame breaks its contract; the message names the column."""


@dataclass
class ScenarioEngine:
    """Prepared arrays of a scenario frame; :meth:`apply` re-forecasts every row for a set of levers."""

    frame: pd.DataFrame
    base: np.ndarray
    cols: dict[str, np.ndarray]
    series_code: np.ndarray
    n_series: int
    first_week: np.ndarray

    @classmethod
    def prepare(cls, frame: pd.DataFrame) -> ScenarioEngine:
        """``frame``: one row per grain series and week with ``y_hat`` plus any driver columns (others neutral)."""
        missing = [c for c in (*GRAIN, "week_start", "y_hat") if c not in frame.columns]
        if missing:
            raise ScenarioError(f"scenario frame: missing column(s) {missing}")
        f = frame.reset_index(drop=True).copy()
        f["week_start"] = pd.to_datetime(f["week_start"])
        y = pd.to_numeric(f["y_hat"], errors="coerce")
        if y.isna().any():
            raise ScenarioError(f"scenario frame: y_hat is missing/not numeric at rows {list(f.index[y.isna()][:5])}")
        cols: dict[str, np.ndarray] = {}
        for c, d in DRIVER_DEFAULTS.items():
            if c == "health_band":
                band = f[c].fillna(d).astype(str).str.lower() if c in f.columns else pd.Series(d, index=f.index)
                bad = ~band.isin(list(BAND_WEIGHT))
                if bad.any():
                    raise ScenarioError(f"scenario frame: health_band must be red/amber/green, got {band[bad].iloc[0]!r}")
                cols["band_w"] = band.map(BAND_WEIGHT).to_numpy(float)
                continue
            v = pd.to_numeric(f[c], errors="coerce").to_numpy(float) if c in f.columns else np.full(len(f), d, float)
            if not np.isnan(d):
                v = np.where(np.isnan(v), d, v)
            cols[c] = v
        if "health_band_weight" in f.columns:
            # A grain mixes customers of several bands: the demand-weighted band weight (in [0, 1]) overrides the
            # single band wherever it is given.
            w = pd.to_numeric(f["health_band_weight"], errors="coerce").to_numpy(float)
            if ((w < 0) | (w > 1)).any():
                raise ScenarioError("scenario frame: health_band_weight must lie in [0, 1]")
            cols["band_w"] = np.where(np.isnan(w), cols["band_w"], w)
        for c in ("key_share", "project_share", "promo_lift", "intent_score", "complaint_heat", "safety_stock_units"):
            if (cols[c] < 0).any():
                raise ScenarioError(f"scenario frame: column {c} must be >= 0")
        if (cols["price_rel"] <= 0).any() or (cols["material_price_index"] <= 0).any():
            raise ScenarioError("scenario frame: price_rel and material_price_index must be > 0")
        codes, uniq = pd.factorize(pd.MultiIndex.from_frame(f[list(GRAIN)]))
        first = f.groupby(codes)["week_start"].transform("min").to_numpy()
        return cls(f, y.to_numpy(float), cols, codes, len(uniq), f["week_start"].to_numpy() == first)

    def apply(self, levers: Levers) -> np.ndarray:
        """Adjusted forecast for every row; all-default levers return the base values exactly."""
        y = self.base.copy()
        c = self.cols
        d = {k: s.default for k, s in SPECS.items()}
        v = levers.model_dump()
        if v["seasonality_strength"] != d["seasonality_strength"]:
            m = np.bincount(self.series_code, y, self.n_series) / np.bincount(self.series_code, None, self.n_series)
            mu = m[self.series_code]
            y = mu + v["seasonality_strength"] * (y - mu)
        factor = np.ones_like(y)

        def ratio(name: str, g) -> None:  # multiplies in g(value)/g(default) only when the lever moved
            nonlocal factor
            if v[name] != d[name]:
                factor = factor * (g(v[name]) / g(d[name]))

        ks = c["key_share"]
        ratio("delivery_delay_tolerance", lambda t: 1 - DELAY_MAX_LOSS * ks
              * np.clip((c["delivery_delay_days"] - t) / DELAY_LOSS_SPAN_DAYS, 0, 1))
        mpi = np.maximum(c["material_price_index"], 1.0)
        ratio("material_price_sensitivity", lambda k: mpi ** (-k))
        ps = c["project_share"] * ks
        ratio("project_cycle_float", lambda fl: 1 - ps + ps * (1 - np.exp(-(fl + 1) / PROJECT_SLIP_WEEKS)))
        lift, age = c["promo_lift"], np.maximum(c["weeks_since_promo_start"], 0)
        ratio("promo_half_life", lambda hl: 1 + lift * 0.5 ** (age / hl))
        ratio("price_elasticity", lambda e: c["price_rel"] ** (-e))
        launch = c["weeks_since_launch"]
        ratio("new_product_ramp", lambda r: np.where(np.isnan(launch), 1.0, np.minimum(1.0, (np.nan_to_num(launch) + 1) / r)))
        ratio("intent_signal_weight", lambda w: 1 + INTENT_LIFT * w * c["intent_score"])
        ratio("complaint_impact", lambda k: np.exp(-k * c["complaint_heat"]))
        ratio("churn_risk_discount", lambda dd: 1 - dd * c["band_w"])
        # Multiplicative factors scale positive demand; returns (negative rows) are left as forecast.
        y = np.where(y > 0, y * factor, y)
        if v["safety_stock"] != d["safety_stock"]:
            # The stock push (or pull) lands in the first forecast week of each channel series.
            extra = (v["safety_stock"] - d["safety_stock"]) * c["safety_stock_units"] * self.first_week
            y = np.maximum(y + extra, np.minimum(y, 0.0))
        if v["capacity_enforcement"] != d["capacity_enforcement"]:
            cap = c["capacity_units"]
            over = np.where(np.isnan(cap), 0.0, np.maximum(y - np.nan_to_num(cap), 0.0))
            y = y - (v["capacity_enforcement"] - d["capacity_enforcement"]) * over
        return y

    def scenario_frame(self, levers: Levers) -> pd.DataFrame:
        """The frame's keys with ``y_base``, ``y_scenario`` and ``delta`` per row."""
        y = self.apply(levers)
        keep = [c for c in (*GRAIN, "region", "product_line", "week_start") if c in self.frame.columns]
        out = self.frame[keep].copy()
        out["y_base"] = self.base
        out["y_scenario"] = y
        out["delta"] = y - self.base
        return out


def apply_levers(frame: pd.DataFrame, levers: Levers) -> pd.DataFrame:
    """One-shot re-forecast (the cockpit's call): rows of ``frame`` with y_base, y_scenario and delta."""
    return ScenarioEngine.prepare(frame).scenario_frame(levers)


def summarize(result: pd.DataFrame, by: tuple[str, ...] = ("region", "product_line")) -> pd.DataFrame:
    """Base vs scenario totals by the given columns (sums of grain rows, so coherent), with % change."""
    keys = [c for c in by if c in result.columns]
    g = result.groupby(keys, dropna=False)[["y_base", "y_scenario"]].sum() if keys else result[["y_base", "y_scenario"]].sum().to_frame().T
    g = g.reset_index() if keys else g
    g["delta"] = g["y_scenario"] - g["y_base"]
    g["delta_pct"] = np.where(g["y_base"] != 0, 100 * g["delta"] / g["y_base"].where(g["y_base"] != 0, 1), np.nan)
    return g


# ------------------------------------------------------------------------------------------ warehouse
# The scenario frame is one SQL statement of CTEs, one per lever-aware input. An input whose source tables are
# absent gets an empty CTE of the same shape, so its column falls back to the neutral value (DRIVER_DEFAULTS).
# `origin.first_week` is the first forecast week: every observed input is read from the weeks before it.
_BASE_CTES = {
    "latest": (("raw", "forecast_predictions"), """
        -- the latest forecast origin (one champion forecasts many origins under one run id: never key on run_id)
        select max(origin_week) as origin_week from raw.forecast_predictions""", None),
    "fc": ((), """
        select p.account_manager_id, p.sku_id, p.channel, p.region, cast(p.week_start as date) as week_start,
               cast(p.y_hat as double) as y_hat, p.run_id
        from raw.forecast_predictions p join latest using (origin_week)""", None),
    "origin": ((), """
        select min(week_start) as first_week, max(week_start) + interval 6 day as horizon_end from fc""", None),
    # raw tables keep every load of a row: the latest load of a customer / account counts
    "cust": (("raw", "erp_customers"), """
        select customer_id, arg_max(tier, _loaded_at) as tier from raw.erp_customers group by customer_id""",
        "select null::varchar as customer_id, null::varchar as tier"),
    "acct": (("raw", "crm_accounts"), """
        select account_id, arg_max(account_manager_id, _loaded_at) as account_manager_id,
               arg_max(erp_customer_id, _loaded_at) as erp_customer_id
        from raw.crm_accounts group by account_id""",
        "select null::varchar as account_id, null::varchar as account_manager_id, null::varchar as erp_customer_id"),
    "sku": (("raw", "erp_skus"), """
        select sku_id, product_line_id as product_line, cast(launch_date as date) as launch_date,
               coalesce(lead_time_days, 14) as lead_time_days
        from raw.erp_skus""",
        "select null::varchar as sku_id, null::varchar as product_line, null::date as launch_date, "
        "null::integer as lead_time_days"),
    # orders of the last 52 weeks before the forecast: key-account share and delays
    "recent": (("raw", "erp_orders"), """
        select o.account_manager_id, o.sku_id, o.channel,
               sum(o.quantity) filter (where c.tier = 'A') / nullif(sum(o.quantity), 0) as key_share,
               avg(date_diff('day', cast(o.order_date as date), cast(o.ship_date as date)))
                   filter (where c.tier = 'A') as delivery_delay_days
        from raw.erp_orders o join cust c using (customer_id), origin
        where cast(o.order_date as date) >= first_week - interval 364 day
        group by all""",
        "select null::varchar as account_manager_id, null::varchar as sku_id, null::varchar as channel, "
        "null::double as key_share, null::double as delivery_delay_days"),
    # each customer's share of its grain's (non-cancelled) units in those 52 weeks: weights customer-level inputs
    "shares": (("raw", "erp_orders"), """
        select account_manager_id, sku_id, channel, customer_id,
               units / nullif(sum(units) over (partition by account_manager_id, sku_id, channel), 0) as share
        from (
            select o.account_manager_id, o.sku_id, o.channel, o.customer_id, sum(greatest(o.quantity, 0)) as units
            from raw.erp_orders o, origin
            where cast(o.order_date as date) >= first_week - interval 364 day
              and cast(o.order_date as date) < first_week and coalesce(o.status, '') <> 'cancelled'
            group by all
        )""",
        "select null::varchar as account_manager_id, null::varchar as sku_id, null::varchar as channel, "
        "null::varchar as customer_id, null::double as share"),
    "promo": (("raw", "erp_promotions"), """
        select fc.account_manager_id, fc.sku_id, fc.channel, fc.week_start,
               max(p.expected_lift) as promo_lift,
               min(date_diff('week', cast(p.start_date as date), fc.week_start)) as weeks_since_promo_start
        from fc join raw.erp_promotions p
          on p.sku_id = fc.sku_id and p.channel = fc.channel
         and fc.week_start between cast(p.start_date as date) and cast(p.end_date as date)
        group by all""",
        "select null::varchar as account_manager_id, null::varchar as sku_id, null::varchar as channel, "
        "null::date as week_start, null::double as promo_lift, null::double as weeks_since_promo_start"),
    "price": (("raw", "erp_price_list"), """
        select fc.sku_id, fc.week_start,
               arg_max(pl.list_price, pl.effective_date) filter (where cast(pl.effective_date as date) <= fc.week_start)
                 / nullif(arg_max(pl.list_price, pl.effective_date)
                     filter (where cast(pl.effective_date as date) <= origin.first_week), 0) as price_rel
        from (select distinct sku_id, week_start from fc) fc join raw.erp_price_list pl using (sku_id), origin
        group by all""",
        "select null::varchar as sku_id, null::date as week_start, null::double as price_rel"),
}
_DRIVER_CTES = {
    # BOM cost of the SKU at the material prices of the week (planned, else the last known) over its cost at the
    # mean prices of the 13 weeks before the forecast.
    "material": ((("raw", "erp_material_prices"), ("raw", "erp_bom")), """
        select m.sku_id, m.week_start,
               case when sum(m.qty * r.ref_price) > 0
                    then sum(m.qty * m.price_now) / sum(m.qty * r.ref_price) end as material_price_index
        from (
            select w.sku_id, w.week_start, b.bom_line_id, b.material_id, cast(b.qty_per_unit as double) as qty,
                   arg_max(cast(mp.price as double), cast(mp.week_start as date)) as price_now
            from (select distinct sku_id, week_start from fc) w
            join raw.erp_bom b on b.sku_id = w.sku_id
            join raw.erp_material_prices mp on mp.material_id = b.material_id
             and cast(mp.week_start as date) <= w.week_start and mp.price > 0
            group by all
        ) m
        join (
            select material_id, avg(cast(price as double)) as ref_price
            from raw.erp_material_prices, origin
            where cast(week_start as date) >= first_week - interval 91 day and cast(week_start as date) < first_week
              and price > 0
            group by material_id
        ) r using (material_id)
        where m.qty > 0
        group by m.sku_id, m.week_start""",
        "select null::varchar as sku_id, null::date as week_start, null::double as material_price_index"),
    # product-line capacity of the week (all factories; the median of the last 13 weeks when the plan does not
    # reach that far), split to the grain by its share of the line's forecast that week
    "capacity": ((("raw", "erp_capacity"),), """
        with cap as (
            select product_line_id, cast(week_start as date) as week_start, sum(capacity_units) as cap
            from raw.erp_capacity group by all
        ), ref as (
            select product_line_id, median(cap) as cap_median from cap, origin
            where week_start >= first_week - interval 91 day and week_start < first_week group by product_line_id
        ), f as (
            select fc.account_manager_id, fc.sku_id, fc.channel, fc.week_start, fc.y_hat, sku.product_line
            from fc left join sku using (sku_id)
        )
        select f.account_manager_id, f.sku_id, f.channel, f.week_start,
               coalesce(cap.cap, ref.cap_median) * greatest(f.y_hat, 0)
                 / nullif(sum(greatest(f.y_hat, 0)) over (partition by f.product_line, f.week_start), 0) as capacity_units
        from f
        left join cap on cap.product_line_id = f.product_line and cap.week_start = f.week_start
        left join ref on ref.product_line_id = f.product_line
        where f.product_line is not null""",
        "select null::varchar as account_manager_id, null::varchar as sku_id, null::varchar as channel, "
        "null::date as week_start, null::double as capacity_units"),
    # buying signals of the account manager's accounts: the last 4 weeks' weekly rate standardised against the
    # manager's own 52 weeks (z-score, only a rise counts)
    "intent": ((("raw", "crm_intent_signals"), ("raw", "crm_accounts")), """
        with sig as (
            select a.account_manager_id, date_trunc('week', cast(s.occurred_at as timestamp))::date as week_start,
                   count(*)::double as n
            from raw.crm_intent_signals s join acct a using (account_id), origin
            where cast(s.occurred_at as date) >= first_week - interval 364 day and cast(s.occurred_at as date) < first_week
            group by all
        )
        select account_manager_id,
               greatest(0.0, (coalesce(sum(n) filter (where week_start >= first_week - interval 28 day), 0) / 4.0
                              - sum(n) / 52.0)
                             / nullif(sqrt(greatest(sum(n * n) / 52.0 - pow(sum(n) / 52.0, 2), 0.0)), 0)) as intent_score
        from sig, origin group by account_manager_id, first_week""",
        "select null::varchar as account_manager_id, null::double as intent_score"),
    # weekly heat of the customer's complaints that name a competitor over the last 4 weeks, demand-weighted
    "heat": ((("raw", "intel_complaint_heat"), ("raw", "erp_orders")), """
        select s.account_manager_id, s.sku_id, s.channel, sum(s.share * h.heat) as complaint_heat
        from shares s join (
            select customer_id, coalesce(sum(heat) filter (where competitor_mentions > 0), 0) / 4.0 as heat
            from raw.intel_complaint_heat, origin
            where cast(week_start as date) >= first_week - interval 28 day and cast(week_start as date) < first_week
            group by customer_id
        ) h using (customer_id)
        group by all""",
        "select null::varchar as account_manager_id, null::varchar as sku_id, null::varchar as channel, "
        "null::double as complaint_heat"),
    # churn risk: demand-weighted band weight of the grain's customers (red 1, amber/yellow 0.5, green 0)
    "health": ((("marts", "customer_health"), ("raw", "erp_orders")), """
        select s.account_manager_id, s.sku_id, s.channel,
               sum(s.share * case lower(h.health_colour) when 'red' then 1.0 when 'yellow' then 0.5
                                  when 'amber' then 0.5 else 0.0 end) as health_band_weight
        from shares s join marts.customer_health h using (customer_id)
        group by all""",
        "select null::varchar as account_manager_id, null::varchar as sku_id, null::varchar as channel, "
        "null::double as health_band_weight"),
    # key-account demand tied to a project: share of the grain's tier-A units from customers with an open
    # opportunity on the SKU's product line expected to close within the forecast horizon
    "project": ((("raw", "crm_opportunities"), ("raw", "crm_accounts"), ("raw", "erp_orders")), """
        with opp as (
            select distinct a.erp_customer_id as customer_id, o.product_line_id
            from raw.crm_opportunities o join acct a using (account_id), origin
            where o.closed_date is null and a.erp_customer_id is not null
              and cast(o.expected_close_date as date) between first_week and horizon_end
        )
        select s.account_manager_id, s.sku_id, s.channel,
               coalesce(sum(s.share) filter (where opp.customer_id is not null), 0) / nullif(sum(s.share), 0) as project_share
        from shares s join cust c using (customer_id) join sku using (sku_id)
        left join opp on opp.customer_id = s.customer_id and opp.product_line_id = sku.product_line
        where c.tier = 'A'
        group by all""",
        "select null::varchar as account_manager_id, null::varchar as sku_id, null::varchar as channel, "
        "null::double as project_share"),
}
_SELECT = """
select fc.*, sku.product_line,
       case when date_diff('week', sku.launch_date, fc.week_start) between 0 and 51
            then date_diff('week', sku.launch_date, fc.week_start) end as weeks_since_launch,
       coalesce(recent.key_share, 0) as key_share,
       coalesce(greatest(recent.delivery_delay_days, 0), 0) as delivery_delay_days,
       coalesce(promo.promo_lift, 0) as promo_lift, coalesce(promo.weeks_since_promo_start, 0) as weeks_since_promo_start,
       coalesce(price.price_rel, 1) as price_rel, sku.lead_time_days,
       coalesce(material.material_price_index, 1) as material_price_index,
       coalesce(project.project_share, 0) as project_share,
       capacity.capacity_units,
       coalesce(intent.intent_score, 0) as intent_score,
       coalesce(heat.complaint_heat, 0) as complaint_heat,
       coalesce(health.health_band_weight, 0) as health_band_weight
from fc
left join sku using (sku_id)
left join recent using (account_manager_id, sku_id, channel)
left join promo using (account_manager_id, sku_id, channel, week_start)
left join price using (sku_id, week_start)
left join material using (sku_id, week_start)
left join capacity using (account_manager_id, sku_id, channel, week_start)
left join intent using (account_manager_id)
left join heat using (account_manager_id, sku_id, channel)
left join health using (account_manager_id, sku_id, channel)
left join project using (account_manager_id, sku_id, channel)
"""
# The drivers each CTE fills (for the "inputs" report of load_scenario_frame).
DRIVER_SOURCES = {"material": "material_price_index", "capacity": "capacity_units", "intent": "intent_score",
                  "heat": "complaint_heat", "health": "health_band_weight", "project": "project_share"}


def scenario_frame_sql(present: set[tuple[str, str]]) -> tuple[str, list[str]]:
    """The scenario-frame SQL for a warehouse holding the tables in ``present``; also the driver CTEs that had
    their tables (the others are empty and leave their input neutral)."""
    ctes, live = [], []
    for name, (needs, sql, empty) in _BASE_CTES.items():
        ok = not needs or tuple(needs) in present
        ctes.append(f"{name} as ({sql if ok or empty is None else empty + ' limit 0'})")
    for name, (needs, sql, empty) in _DRIVER_CTES.items():
        ok = all(t in present for t in needs)
        live += [name] if ok else []
        ctes.append(f"{name} as ({sql if ok else empty + ' limit 0'})")
    return "with " + ",\n".join(ctes) + _SELECT, live


def _tables_present(warehouse) -> set[tuple[str, str]]:
    tables = warehouse.query("select table_schema, table_name from information_schema.tables")
    return set(zip(tables["table_schema"], tables["table_name"], strict=True))


def load_scenario_frame(warehouse) -> pd.DataFrame:
    """The latest base forecast (raw.forecast_predictions, newest origin week) at the grain with lever-aware inputs.

    Inputs whose tables are not in the warehouse stay neutral (see DRIVER_DEFAULTS); ``frame.attrs["drivers"]``
    lists the driver inputs that were read. Raises ScenarioError if there is no forecast.
    """
    present = _tables_present(warehouse)
    if ("raw", "forecast_predictions") not in present:
        raise ScenarioError("raw.forecast_predictions does not exist yet: materialise the forecast first")
    sql, live = scenario_frame_sql(present)
    df = warehouse.query(sql)
    if df.empty:
        raise ScenarioError("raw.forecast_predictions is empty: materialise the forecast first")
    df["product_line"] = df["product_line"].fillna("unknown")
    # Channel (distributor) series carry the standard safety stock: z=1.65 x weekly sd x sqrt(lead time).
    sd = df.groupby(list(GRAIN))["y_hat"].transform("std").fillna(0.0)
    lt_weeks = df["lead_time_days"].fillna(14).astype(float) / 7.0
    df["safety_stock_units"] = np.where(df["channel"] == "distributor", 1.65 * sd * np.sqrt(lt_weeks), 0.0)
    df.attrs["drivers"] = [DRIVER_SOURCES[n] for n in live]
    return df


def run_scenario(warehouse, levers: Levers, name: str | None = None) -> pd.DataFrame:
    """Re-forecast the latest base forecast under ``levers``; with ``name``, also write raw.forecast_scenarios.

    Returns the grain rows with y_base, y_scenario, delta.
    """
    frame = load_scenario_frame(warehouse)
    result = ScenarioEngine.prepare(frame).scenario_frame(levers)
    result.attrs["drivers"] = list(frame.attrs.get("drivers", []))
    if name:
        write_scenario(warehouse, name, levers, result)
    return result


def load_stored_scenario(warehouse, name: str) -> pd.DataFrame | None:
    """The grain rows of scenario ``name`` from raw.forecast_scenarios (None when there is no such scenario)."""
    if not warehouse.table_exists("raw", "forecast_scenarios"):
        return None
    df = warehouse.query("select * from raw.forecast_scenarios where scenario_name = ?", [name])
    return df if len(df) else None


def write_scenario(warehouse, name: str, levers: Levers, result: pd.DataFrame) -> int:
    """Replace scenario ``name`` in raw.forecast_scenarios: one row per grain week, lever values as JSON."""
    import json

    out = result.copy()
    out.insert(0, "scenario_name", name)
    out["levers_json"] = json.dumps(levers.model_dump(), sort_keys=True)
    out["changed_levers"] = ",".join(f"{k}={v:g}" for k, v in levers.changed().items())
    out["created_at"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    return warehouse.replace_rows("raw", "forecast_scenarios", out, "scenario_name = ?", [name])
