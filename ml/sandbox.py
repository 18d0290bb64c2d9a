"""Forecast sandbox (A/B): each month the top-value customers' series are split between the traditional
forecast and the champion model; when actuals land, errors per arm are compared and a lever is recalibrated.

Design: arms are assigned per customer x SKU series by a sha256 hash of (month, customer, SKU), so a series
keeps its arm however often the month is re-run and whatever other series exist. Calibration fits the lever
value that, applied on top of the model arm's forecast the way ``ml.scenario`` applies it
(``y_hat * g(value) / g(value baked into y_hat)``), minimises the squared error against actuals.
Everything here works on frames; reading the warehouse and writing raw.forecast_sandbox is ``ml.sandbox_build``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml.config import ForecastConfig
from ml.features import Panel
from ml.levers import SPECS
from ml.scenario import complaint_response, material_response, price_response
from ml.schema import WEEKDAYS, numeric_column, require_columns, week_freq

ARMS = ("traditional", "model")
SERIES_KEYS = ("customer_id", "sku_id")
SEASON_WEEKS = 52
MIN_CALIBRATION_OBS = 3  # fewer informative rows than this leave the lever unchanged
SANDBOX_COLUMNS = [
    "month", "customer_id", "arm", "series_count", "forecast_total", "actual_total", "wape", "bias",
    "calibrated_lever", "lever_value_before", "calibrated_value", "calibration_error_before",
    "calibration_error_after", "n_obs",
]


class SandboxError(ValueError):
    """A sandbox input breaks its contract; the message names the frame, column and row."""


@dataclass(frozen=True)
class LeverResponse:
    """How a lever scales the forecast through one driver column, as in ``ml.scenario.ScenarioEngine.apply``."""

    driver: str
    g: Callable[[float, np.ndarray], np.ndarray]
    neutral: float  # driver value at which the lever has no effect (rows at it carry no information)


# Only the levers with a single multiplicative response are calibratable from forecast vs actual pairs.
# The curves are the scenario engine's own (ml.scenario), so a calibrated value means the same there.
RESPONSES: dict[str, LeverResponse] = {
    "price_elasticity": LeverResponse("price_rel", price_response, 1.0),
    "material_price_sensitivity": LeverResponse("material_price_index", material_response, 1.0),
    "complaint_impact": LeverResponse("complaint_heat", complaint_response, 0.0),
}


# ------------------------------------------------------------------------------------------ helpers
def month_start(month: Any) -> pd.Timestamp:
    """'2026-03', a date or a Timestamp -> first day of that month (raises SandboxError when unparseable)."""
    try:
        return pd.Period(month, freq="M").to_timestamp()
    except (ValueError, TypeError):
        raise SandboxError(f"month {month!r} is not a month (expected e.g. '2026-03' or a date)") from None


def _require(df: pd.DataFrame, cols, name: str) -> None:
    require_columns(df, cols, name, SandboxError)


def _numeric(df: pd.DataFrame, col: str, name: str) -> pd.Series:
    return numeric_column(df, col, name, SandboxError)


def _with_month(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """A frame keyed by ``month`` (month start), derived from ``week_start`` when needed."""
    out = df.copy()
    if "month" in out.columns:
        out["month"] = out["month"].map(month_start)
    elif "week_start" in out.columns:
        out["month"] = pd.to_datetime(out["week_start"]).dt.to_period("M").dt.to_timestamp()
    else:
        raise SandboxError(f"{name}: needs a month or week_start column; has {list(df.columns)}")
    return out


def _str_keys(df: pd.DataFrame) -> pd.DataFrame:
    """Ids as strings, so ints from one source join strings from another."""
    return df.assign(**{k: df[k].astype(str) for k in SERIES_KEYS if k in df.columns})


def _monthly(df: pd.DataFrame, value: str, name: str, extra_keys: tuple[str, ...] = ()) -> pd.DataFrame:
    """Sum ``value`` per month x customer x SKU (weekly rows roll up; monthly rows pass through)."""
    _require(df, (*SERIES_KEYS, value), name)
    f = _with_month(_str_keys(df), name)
    f[value] = _numeric(f, value, name)
    keys = ["month", *SERIES_KEYS, *extra_keys]
    return f.groupby(keys, as_index=False, dropna=False)[value].sum()


# ------------------------------------------------------------------------------------------ pick / arms
def pick_sandbox(matrix_df: pd.DataFrame, month: Any, n: int = 3) -> pd.DataFrame:
    """The ``n`` customers with the highest strategic_value_score (ties: lower customer_id first).

    ``matrix_df`` is marts.customer_matrix-like (customer_id, strategic_value_score); rows without a score are
    skipped. Returns month, customer_id, strategic_value_score, sandbox_rank (1 = highest).
    """
    _require(matrix_df, ("customer_id", "strategic_value_score"), "customer matrix")
    if n < 1:
        raise SandboxError(f"pick_sandbox: n must be >= 1, got {n}")
    m = matrix_df[["customer_id", "strategic_value_score"]].copy()
    m["strategic_value_score"] = _numeric(m, "strategic_value_score", "customer matrix")
    m = m.dropna(subset=["customer_id", "strategic_value_score"])
    m["customer_id"] = m["customer_id"].astype(str)
    # One score per customer (a matrix with repeated rows keeps the customer's best score).
    m = m.groupby("customer_id", as_index=False)["strategic_value_score"].max()
    m = m.sort_values(["strategic_value_score", "customer_id"], ascending=[False, True], kind="mergesort").head(n)
    m.insert(0, "month", month_start(month))
    m["sandbox_rank"] = np.arange(1, len(m) + 1)
    return m.reset_index(drop=True)


def arm_of(customer_id: Any, sku_id: Any, month: Any) -> str:
    """The arm of one series in one month: sha256 of 'YYYY-MM|customer|sku', parity of its first 8 bytes."""
    key = f"{month_start(month):%Y-%m}|{customer_id}|{sku_id}".encode()
    return ARMS[int.from_bytes(hashlib.sha256(key).digest()[:8], "big") & 1]


def assign_arms(series_df: pd.DataFrame, month: Any) -> pd.DataFrame:
    """One row per distinct customer x SKU series of ``series_df`` with ``month`` and its ``arm``."""
    _require(series_df, SERIES_KEYS, "series")
    s = series_df[list(SERIES_KEYS)].dropna().astype(str).drop_duplicates()
    s = s.sort_values(list(SERIES_KEYS)).reset_index(drop=True)
    ms = month_start(month)
    s.insert(0, "month", ms)
    s["arm"] = [arm_of(c, k, ms) for c, k in zip(s["customer_id"], s["sku_id"], strict=True)]
    return s


# ------------------------------------------------------------------------------------------ traditional arm
def traditional_forecast(history_df: pd.DataFrame, month: Any, origin: Any | None = None) -> pd.DataFrame:
    """Traditional (sales-team) forecast of ``month`` per customer x SKU from weekly history.

    The forecast is ``ml.models.Traditional``'s, summed over the month's weeks: each target week = the same week
    a year earlier x the growth of the last 13 weeks over the same 13 weeks a year earlier (clipped to [0.5, 2]);
    with less than a year of history, the 13-week mean level. ``history_df``: customer_id, sku_id, week_start, quantity. ``origin`` is
    the last week of history the forecast may use (default: the last week start before the month; give the
    model's forecast origin to compare both arms on the same information); later weeks are ignored.
    Returns month, customer_id, sku_id, y_hat.
    """
    _require(history_df, (*SERIES_KEYS, "week_start", "quantity"), "history")
    ms = month_start(month)
    h = history_df[[*SERIES_KEYS, "week_start", "quantity"]].copy()
    h["week_start"] = pd.to_datetime(h["week_start"], errors="coerce")
    if h["week_start"].isna().any():
        raise SandboxError(f"history: week_start not a date at row {h.index[h['week_start'].isna()][0]}")
    h["quantity"] = _numeric(h, "quantity", "history").fillna(0.0)
    given_origin = None
    if origin is not None:
        given_origin = pd.Timestamp(origin)
        if given_origin >= ms:
            raise SandboxError(f"traditional forecast: origin {given_origin.date()} is not before {ms:%Y-%m}")
        if ms + pd.offsets.MonthEnd(0) - given_origin >= pd.Timedelta(weeks=SEASON_WEEKS):
            # a year-ago week after the origin is not known at the origin
            raise SandboxError(f"traditional forecast: origin {given_origin.date()} is a year or more before the "
                               f"end of {ms:%Y-%m}")
        h = h[h["week_start"] <= given_origin]
    else:
        h = h[h["week_start"] < ms]
    if h.empty:
        return pd.DataFrame({"month": pd.Series(dtype="datetime64[ns]"), "customer_id": [], "sku_id": [],
                             "y_hat": pd.Series(dtype=float)})
    h[list(SERIES_KEYS)] = h[list(SERIES_KEYS)].astype(str)
    weekday = h["week_start"].iloc[0].dayofweek
    first, last = h["week_start"].min(), h["week_start"].max()
    if given_origin is None:
        origin = ms - pd.Timedelta(days=(ms.dayofweek - weekday) % 7 or 7)  # last week start before the month
    elif given_origin.dayofweek != weekday:
        raise SandboxError(f"traditional forecast: origin {given_origin.date()} is not a week start of the history "
                           f"(weeks start on day {weekday})")
    else:
        origin = given_origin
    weeks = pd.date_range(first, max(origin, last), freq="7D")
    Y = h.pivot_table(index=list(SERIES_KEYS), columns="week_start", values="quantity", aggfunc="sum")
    Y = Y.reindex(columns=weeks, fill_value=0.0).fillna(0.0)
    pos = {w: i for i, w in enumerate(weeks)}
    o = pos[origin] if origin in pos else len(weeks) - 1
    A = Y.to_numpy(float)
    targets = [w for w in pd.date_range(origin + pd.Timedelta(days=7), ms + pd.offsets.MonthEnd(0), freq="7D")
               if w.month == ms.month and w.year == ms.year]
    y = np.zeros(len(A))
    if targets:
        # The forecast itself is ml.models.Traditional's (it reads only the panel's weekly matrix), summed over
        # the month's target weeks.
        steps = [(w - origin).days // 7 for w in targets]
        panel = Panel(hierarchy=None, weeks=weeks, n_hist=len(weeks), Y=A)
        from ml.models import Traditional  # LightGBM comes with ml.models: only when the sandbox runs

        weekly = Traditional().predict(panel, o, max(steps), ForecastConfig(season_length=SEASON_WEEKS))
        y = weekly[:, [h - 1 for h in steps]].sum(axis=1)
    out = Y.index.to_frame(index=False)
    out.insert(0, "month", ms)
    out["y_hat"] = y
    return out


# ------------------------------------------------------------------------------------------ evaluation
def evaluate_arms(forecasts_df: pd.DataFrame, actuals_df: pd.DataFrame) -> pd.DataFrame:
    """WAPE and bias per month x customer x arm (sums over the customer's series in that arm).

    ``forecasts_df``: month (or week_start), customer_id, sku_id, arm, y_hat. ``actuals_df``: month (or
    week_start), customer_id, sku_id, y. Only months with actuals are scored; a forecast series without an
    actual in such a month sold 0. WAPE = sum|f-a| / sum|a|, bias = sum(f-a) / sum|a| (as ml.metrics; NaN when
    nothing sold). Returns month, customer_id, arm, series_count, forecast_total, actual_total, wape, bias.
    """
    _require(forecasts_df, ("arm",), "forecasts")
    bad = ~forecasts_df["arm"].isin(ARMS)
    if bad.any():
        raise SandboxError(f"forecasts: arm at row {bad.idxmax()} is {forecasts_df['arm'][bad].iloc[0]!r}; "
                           f"expected one of {ARMS}")
    f = _monthly(forecasts_df, "y_hat", "forecasts", extra_keys=("arm",))
    dup = f.duplicated(["month", *SERIES_KEYS])
    if dup.any():
        r = f[dup].iloc[0]
        raise SandboxError(f"forecasts: series {r['customer_id']}/{r['sku_id']} in {r['month']:%Y-%m} is in both arms")
    a = _monthly(actuals_df, "y", "actuals")
    f = f[f["month"].isin(set(a["month"]))]
    j = f.merge(a, on=["month", *SERIES_KEYS], how="left")
    j["y"] = j["y"].fillna(0.0)
    j["err"] = j["y_hat"] - j["y"]
    j["abs_err"] = j["err"].abs()
    j["abs_y"] = j["y"].abs()
    g = j.groupby(["month", "customer_id", "arm"], as_index=False).agg(
        series_count=("sku_id", "nunique"), forecast_total=("y_hat", "sum"), actual_total=("y", "sum"),
        _ae=("abs_err", "sum"), _e=("err", "sum"), _ay=("abs_y", "sum"))
    denom = g["_ay"].where(g["_ay"] > 0)
    g["wape"] = g["_ae"] / denom
    g["bias"] = g["_e"] / denom
    return g.drop(columns=["_ae", "_e", "_ay"]).sort_values(["month", "customer_id", "arm"]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------ calibration
def _driver(frame: pd.DataFrame, resp: LeverResponse) -> np.ndarray:
    if resp.driver == "price_rel" and "price_rel" not in frame.columns and {"price", "ref_price"} <= set(frame):
        price, ref = _numeric(frame, "price", "calibration"), _numeric(frame, "ref_price", "calibration")
        if (ref <= 0).any():
            raise SandboxError(f"calibration: ref_price must be > 0 (row {(ref <= 0).idxmax()})")
        return (price / ref).to_numpy(float)
    _require(frame, (resp.driver,), "calibration")
    return _numeric(frame, resp.driver, "calibration").to_numpy(float)


def calibrate_elasticity(
    frame: pd.DataFrame, lever: str = "price_elasticity", base_value: float | None = None
) -> tuple[float, float, float]:
    """Fit ``lever`` to forecast vs actual pairs: the value in the lever's allowed range minimising the mean
    squared error of ``y_hat * g(value) / g(base_value)`` against ``y`` (g as in ml.scenario, e.g.
    price_rel ** -elasticity; price_rel may be given as price / ref_price).

    ``frame``: y_hat, y and the lever's driver column. ``base_value`` is the lever value already inside y_hat
    (default: the lever's default, as for the champion's base forecast; 0 for a lever-unaware forecast).
    Returns (value, error_before, error_after) with errors as MSE; with fewer than 3 informative rows
    (driver off its neutral value) the lever is left at ``base_value``.
    """
    if lever not in RESPONSES:
        raise SandboxError(f"lever {lever!r} cannot be calibrated from forecast errors; calibratable: {sorted(RESPONSES)}")
    spec, resp = SPECS[lever], RESPONSES[lever]
    base = spec.default if base_value is None else float(base_value)
    if not spec.lo <= base <= spec.hi:
        raise SandboxError(f"lever {lever}: base value {base:g} outside its allowed range [{spec.lo:g}, {spec.hi:g}]")
    _require(frame, ("y_hat", "y"), "calibration")
    y_hat = _numeric(frame, "y_hat", "calibration").to_numpy(float)
    y = _numeric(frame, "y", "calibration").to_numpy(float)
    x = _driver(frame, resp)
    ok = ~(np.isnan(y_hat) | np.isnan(y) | np.isnan(x))
    y_hat, y, x = y_hat[ok], y[ok], x[ok]
    if resp.driver in ("price_rel", "material_price_index") and (x <= 0).any():
        raise SandboxError(f"calibration: {resp.driver} must be > 0")
    g0 = resp.g(base, x)

    def mse(v: float) -> float:
        return float(np.mean((y_hat * resp.g(v, x) / g0 - y) ** 2))

    before = mse(base) if len(y) else float("nan")
    if int((np.abs(x - resp.neutral) > 1e-12).sum()) < MIN_CALIBRATION_OBS:
        return base, before, before
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(mse, bounds=(spec.lo, spec.hi), method="bounded", options={"xatol": 1e-5})
    # Bounded Brent never evaluates the bounds themselves; keep the best of optimum, bounds and base value.
    value = min((float(res.x), spec.lo, spec.hi, base), key=mse)
    return value, before, mse(value)


# ------------------------------------------------------------------------------------------ one month
def run_sandbox_month(
    matrix_df: pd.DataFrame,
    month: Any,
    model_forecast_df: pd.DataFrame,
    actuals_df: pd.DataFrame | None = None,
    *,
    traditional_df: pd.DataFrame | None = None,
    history_df: pd.DataFrame | None = None,
    drivers_df: pd.DataFrame | None = None,
    n: int = 3,
    lever: str = "price_elasticity",
    current_value: float | None = None,
) -> pd.DataFrame:
    """One month of the sandbox, shaped for the forecast_sandbox table (columns ``SANDBOX_COLUMNS``).

    - ``model_forecast_df``: champion forecast, customer_id, sku_id, y_hat by month or week_start; its series
      of the sandbox customers in ``month`` form the sandbox.
    - traditional arm: ``traditional_df`` (same shape) or computed from weekly ``history_df`` with
      :func:`traditional_forecast`; a series without either gets 0 (nothing sold last year).
    - ``actuals_df`` (customer_id, sku_id, y by month or week_start): None/empty = not arrived yet, errors NaN.
    - calibration uses the model arm's series and the lever's driver, from ``drivers_df`` (month or
      week_start, customer_id, sku_id, driver; weekly rows are averaged) or columns of ``model_forecast_df``;
      without a driver the lever stays at ``current_value`` (default: lever default) and n_obs is 0.
    One row per sandbox customer x arm; the calibrated value is a month-level fit repeated on each row.
    """
    ms = month_start(month)
    picks = pick_sandbox(matrix_df, ms, n)
    model = _monthly(model_forecast_df, "y_hat", "model forecast")
    model = model[(model["month"] == ms) & model["customer_id"].isin(set(picks["customer_id"]))]
    arms = assign_arms(model, ms)
    if traditional_df is not None:
        trad = _monthly(traditional_df, "y_hat", "traditional forecast")
    elif history_df is not None:
        trad = traditional_forecast(history_df, ms)
    else:
        raise SandboxError("run_sandbox_month: give traditional_df or history_df for the traditional arm")
    trad = trad[trad["month"] == ms]
    keys = ["month", *SERIES_KEYS]
    fc = arms.merge(model.rename(columns={"y_hat": "y_model"}), on=keys, how="left")
    fc = fc.merge(trad.rename(columns={"y_hat": "y_trad"}), on=keys, how="left")
    fc["y_hat"] = np.where(fc["arm"] == "model", fc["y_model"], fc["y_trad"].fillna(0.0))

    resp = RESPONSES.get(lever)
    if resp is None:
        raise SandboxError(f"lever {lever!r} cannot be calibrated; calibratable: {sorted(RESPONSES)}")
    before = SPECS[lever].default if current_value is None else float(current_value)
    value, err_b, err_a, n_obs = before, float("nan"), float("nan"), 0

    has_actuals = actuals_df is not None and len(actuals_df) > 0
    if has_actuals:
        a = _monthly(actuals_df, "y", "actuals")
        a = a[a["month"] == ms]
        has_actuals = len(a) > 0
    if has_actuals:
        ev = evaluate_arms(fc[[*keys, "arm", "y_hat"]], a)
        src = drivers_df if drivers_df is not None else model_forecast_df
        driver_ok = resp.driver in src.columns or (resp.driver == "price_rel" and {"price", "ref_price"} <= set(src))
        if driver_ok:
            d = _with_month(_str_keys(src), "drivers")
            d = d[d["month"] == ms].copy()
            d[resp.driver] = _driver(d, resp)
            d = d.groupby(keys, as_index=False)[resp.driver].mean()
            cal = fc[fc["arm"] == "model"][[*keys, "y_hat"]].merge(a, on=keys, how="left").merge(d, on=keys)
            cal["y"] = cal["y"].fillna(0.0)
            value, err_b, err_a = calibrate_elasticity(cal, lever, base_value=before)
            n_obs = int(len(cal))
    else:
        # Actuals not in yet: the assignment and forecast totals only.
        ev = fc.groupby(["month", "customer_id", "arm"], as_index=False).agg(
            series_count=("sku_id", "nunique"), forecast_total=("y_hat", "sum"))
        ev["actual_total"] = np.nan
        ev["wape"] = np.nan
        ev["bias"] = np.nan
    ev = ev.assign(calibrated_lever=lever, lever_value_before=before, calibrated_value=value,
                   calibration_error_before=err_b, calibration_error_after=err_a, n_obs=n_obs)
    return ev[SANDBOX_COLUMNS].reset_index(drop=True)


# ------------------------------------------------------------------------------------------ which months
STATUS_SCORED = "scored"
STATUS_PENDING = "actuals_not_yet_in"


def month_weeks(month: Any, week_start: str = "monday") -> pd.DatetimeIndex:
    """The week starts of ``month`` (its Mondays, or the days of the company's ``week_start``): a week belongs to
    the month its first day falls in (as everywhere in the sandbox)."""
    ms = month_start(month)
    return pd.date_range(ms, ms + pd.offsets.MonthEnd(0), freq=week_freq(week_start))


def plan_sandbox_months(forecast_weeks: pd.DataFrame, actuals_through: Any | None) -> pd.DataFrame:
    """Which months the sandbox can run, with which forecast, and whether they can be scored yet.

    ``forecast_weeks``: origin_week, week_start (the weeks each forecast origin covers). A month can run when an
    origin forecast every week of it from before it (origin + 7 days <= its first week start, forecast reaching
    its last); the latest such origin is used (weeks start on the weekday of the forecast's own week_start). A month
    is ``scored`` when actuals cover its last week (last week start <= ``actuals_through``, the last week start with complete actuals); the first month that is not
    is kept as ``actuals_not_yet_in``; later months wait for later runs. Months without such a forecast cannot
    be scored and are absent. Returns month, origin_week, status, sorted by month.
    """
    cols = {"month": pd.Series(dtype="datetime64[ns]"), "origin_week": pd.Series(dtype="datetime64[ns]"),
            "status": pd.Series(dtype=object)}
    _require(forecast_weeks, ("origin_week", "week_start"), "forecast weeks")
    fw = forecast_weeks[["origin_week", "week_start"]].dropna()
    if fw.empty:
        return pd.DataFrame(cols)
    fw = fw.assign(origin_week=pd.to_datetime(fw["origin_week"]), week_start=pd.to_datetime(fw["week_start"]))
    week_start = WEEKDAYS[fw["week_start"].iloc[0].dayofweek]  # the forecast's own weeks (the company's)
    covered = fw.groupby("origin_week")["week_start"].agg(set)
    through = pd.Timestamp(actuals_through) if actuals_through is not None else None
    rows = []
    for m in sorted(fw["week_start"].dt.to_period("M").dt.to_timestamp().unique()):
        weeks = month_weeks(m, week_start)
        ok = [o for o, wk in covered.items() if o + pd.Timedelta(days=7) <= weeks[0] and set(weeks) <= wk]
        if not ok:
            continue
        scored = through is not None and weeks[-1] <= through
        rows.append({"month": pd.Timestamp(m), "origin_week": max(ok),
                     "status": STATUS_SCORED if scored else STATUS_PENDING})
        if not scored:
            break  # the next month with a forecast only; later months wait
    return pd.DataFrame(rows) if rows else pd.DataFrame(cols)


def price_rel_by_week(prices: pd.DataFrame, sku_weeks: pd.DataFrame, reference_day: Any) -> pd.DataFrame:
    """List price in force in each SKU week over the price in force on ``reference_day`` (the forecast's first
    week, as the scenario frame's price_rel). ``prices``: sku_id, effective_date, list_price. Returns the
    ``sku_weeks`` rows (sku_id, week_start) with price_rel (NaN where either price is unknown)."""
    _require(prices, ("sku_id", "effective_date", "list_price"), "price list")
    p = prices[["sku_id", "effective_date", "list_price"]].copy()
    p["effective_date"] = pd.to_datetime(p["effective_date"], errors="coerce")
    p["list_price"] = _numeric(p, "list_price", "price list")
    p = p.dropna().astype({"sku_id": str}).sort_values("effective_date")
    w = sku_weeks[["sku_id", "week_start"]].drop_duplicates().astype({"sku_id": str})
    w["week_start"] = pd.to_datetime(w["week_start"])
    now = pd.merge_asof(w.sort_values("week_start"), p, left_on="week_start", right_on="effective_date",
                        by="sku_id", direction="backward")
    ref_day = pd.Timestamp(reference_day)
    ref = p[p["effective_date"] <= ref_day].groupby("sku_id")["list_price"].last().rename("ref_price")
    now = now.merge(ref, left_on="sku_id", right_index=True, how="left")
    now["price_rel"] = now["list_price"] / now["ref_price"].where(now["ref_price"] > 0)
    return now[["sku_id", "week_start", "price_rel"]].reset_index(drop=True)
