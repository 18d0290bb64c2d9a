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


def price_response(elasticity: float, price_rel: np.ndarray) -> np.ndarray:
    """Demand factor of a planned price ``price_rel`` times the reference price."""
    return price_rel ** (-elasticity)


def material_response(sensitivity: float, material_price_index: np.ndarray) -> np.ndarray:
    """Demand factor of a material price index (only a rise above the reference acts)."""
    return np.maximum(material_price_index, 1.0) ** (-sensitivity)


def complaint_response(impact: float, complaint_heat: np.ndarray) -> np.ndarray:
    """Demand factor of competitor-naming complaint heat."""
    return np.exp(-impact * complaint_heat)


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
        ratio("material_price_sensitivity", lambda k: material_response(k, c["material_price_index"]))
        ps = c["project_share"] * ks
        ratio("project_cycle_float", lambda fl: 1 - ps + ps * (1 - np.exp(-(fl + 1) / PROJECT_SLIP_WEEKS)))
        lift, age = c["promo_lift"], np.maximum(c["weeks_since_promo_start"], 0)
        ratio("promo_half_life", lambda hl: 1 + lift * 0.5 ** (age / hl))
        ratio("price_elasticity", lambda e: price_response(e, c["price_rel"]))
        launch = c["weeks_since_launch"]
        ratio("new_product_ramp", lambda r: np.where(np.isnan(launch), 1.0, np.minimum(1.0, (np.nan_to_num(launch) + 1) / r)))
        ratio("intent_signal_weight", lambda w: 1 + INTENT_LIFT * w * c["intent_score"])
        ratio("complaint_impact", lambda k: complaint_response(k, c["complaint_heat"]))
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
# dbt builds the scenario frame (models/intermediate/int_scenario_inputs.sql): every lever-aware input in SQL,
# null where its feed has no rows for a grain.
INPUTS_RELATION = ("intermediate", "int_scenario_inputs")
# The drivers the frame can carry (for the "inputs" report of load_scenario_frame).
DRIVER_COLUMNS = ("material_price_index", "capacity_units", "intent_score", "complaint_heat", "health_band_weight",
                  "project_share")
# Neutral value of the base inputs and drivers the frame leaves null (capacity stays NaN: unconstrained).
_FILL = {**{c: DRIVER_DEFAULTS[c] for c in ("key_share", "delivery_delay_days", "promo_lift",
                                             "weeks_since_promo_start", "price_rel", "material_price_index",
                                             "project_share", "intent_score", "complaint_heat")},
         "health_band_weight": BAND_WEIGHT[str(DRIVER_DEFAULTS["health_band"])]}


def load_scenario_frame(warehouse) -> pd.DataFrame:
    """The latest base forecast at the grain with lever-aware inputs (dbt model intermediate.int_scenario_inputs).

    Inputs without source rows stay neutral (see DRIVER_DEFAULTS); ``frame.attrs["drivers"]`` lists the driver
    inputs that were read (non-null somewhere). Raises ScenarioError if there is no forecast.
    """
    if not warehouse.table_exists(*INPUTS_RELATION):
        raise ScenarioError("intermediate.int_scenario_inputs does not exist yet: build the dbt models first")
    df = warehouse.query(f"select * from {'.'.join(INPUTS_RELATION)}")
    if df.empty:
        raise ScenarioError("raw.forecast_predictions does not exist yet or is empty: materialise the forecast "
                            "first (then dbt's int_scenario_inputs)")
    df["week_start"] = pd.to_datetime(df["week_start"])
    drivers = [c for c in DRIVER_COLUMNS if df[c].notna().any()]
    df = df.fillna(_FILL)
    df["product_line"] = df["product_line"].fillna("unknown")
    # Channel (distributor) series carry the standard safety stock: z=1.65 x weekly sd x sqrt(lead time).
    sd = df.groupby(list(GRAIN))["y_hat"].transform("std").fillna(0.0)
    lt_weeks = df["lead_time_days"].astype(float) / 7.0
    df["safety_stock_units"] = np.where(df["channel"] == "distributor", 1.65 * sd * np.sqrt(lt_weeks), 0.0)
    df.attrs["drivers"] = drivers
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
