"""Feature building for the direct multi-horizon global model: a dense node x week panel and
vectorised lag / rolling / seasonal / calendar / exogenous features for any forecast origin.

Features for origin ``o`` and horizon ``h`` only read target and observed-exogenous values at weeks
``<= o``; future-known exogenous columns (promotions, price, capacity plans) are read at week ``o + h``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.calendar import CALENDAR_COLS, week_calendar
from ml.config import ForecastConfig
from ml.hierarchy import Hierarchy, build_hierarchy, mean_matrix
from ml.schema import (
    FUTURE_EXOG,
    HIERARCHY_COLS,
    KEY_COLS,
    OBSERVED_EXOG,
    SERIES_ID,
    TARGET_COL,
    TIME_COL,
    ContractError,
    validate_history,
)

SCALE_WINDOW = 13


@dataclass
class Panel:
    """Target and exogenous values of every hierarchy node on a regular weekly grid.

    ``weeks`` covers history plus the forecast horizon; ``Y`` is NaN after ``n_hist``.
    """

    hierarchy: Hierarchy
    weeks: pd.DatetimeIndex
    n_hist: int
    Y: np.ndarray  # (n_nodes, n_weeks)
    future_exog: dict[str, np.ndarray] = field(default_factory=dict)
    observed_exog: dict[str, np.ndarray] = field(default_factory=dict)
    calendar: pd.DataFrame | None = None

    def week_index(self, week: pd.Timestamp | str) -> int:
        ts = pd.Timestamp(week)
        pos = self.weeks.get_indexer([ts])[0]
        if pos < 0:
            raise ContractError(f"cutoff {ts.date()} is not a week_start in the history "
                                f"({self.weeks[0].day_name()}s {self.weeks[0].date()}..)")
        return int(pos)


def exog_columns(df: pd.DataFrame, config: ForecastConfig) -> tuple[list[str], list[str]]:
    """Which future-known and observed-only exogenous columns are present in ``df``."""
    fut = [c for c in (*FUTURE_EXOG, *config.extra_future_exog) if c in df.columns]
    obs = [c for c in (*OBSERVED_EXOG, *config.extra_observed_exog) if c in df.columns]
    return fut, obs


def build_panel(
    history: pd.DataFrame,
    config: ForecastConfig,
    future_exog: pd.DataFrame | None = None,
    horizon: int | None = None,
    hierarchy: Hierarchy | None = None,
) -> Panel:
    """Pivot a validated long history (plus optional future exogenous rows) into a node x week panel.

    Weeks with no row for a grain series count as zero demand (no order recorded).
    """
    horizon = config.horizon if horizon is None else horizon
    if hierarchy is None:
        bottom = history.drop_duplicates(SERIES_ID)[[SERIES_ID, *KEY_COLS, *HIERARCHY_COLS]]
        hierarchy = build_hierarchy(bottom)
    bottom_ids = pd.Index(hierarchy.bottom[SERIES_ID])
    unknown = ~history[SERIES_ID].isin(bottom_ids)
    if unknown.any():
        raise ContractError(f"history has series unknown to the fitted hierarchy, e.g. {history.loc[unknown, SERIES_ID].iloc[0]!r}")
    last = history[TIME_COL].max()
    weeks = pd.date_range(history[TIME_COL].min(), last + pd.Timedelta(weeks=horizon), freq=config.week_freq)
    n_hist = int(weeks.get_indexer([last])[0]) + 1
    rows = bottom_ids.get_indexer(history[SERIES_ID])
    cols = weeks.get_indexer(history[TIME_COL])
    Yb = np.zeros((len(bottom_ids), len(weeks)))
    np.add.at(Yb, (rows, cols), history[TARGET_COL].to_numpy(dtype=float))
    Yb[:, n_hist:] = np.nan
    S = hierarchy.S
    Y = np.asarray(S @ np.nan_to_num(Yb))
    Y[:, n_hist:] = np.nan
    # Exogenous values of aggregate nodes are the mean over their grain series.
    S_mean = mean_matrix(hierarchy)
    fut_cols, obs_cols = exog_columns(history, config)
    fut_frame = history
    if future_exog is not None and len(future_exog):
        fe = future_exog.copy()
        fe[TIME_COL] = pd.to_datetime(fe[TIME_COL])
        if SERIES_ID not in fe.columns:
            missing = [c for c in KEY_COLS if c not in fe.columns]
            if missing:
                raise ContractError(f"future_exog: missing key column(s) {missing}")
            from ml.schema import series_id

            fe[SERIES_ID] = series_id(fe)
        fe = fe[fe[SERIES_ID].isin(bottom_ids) & fe[TIME_COL].isin(weeks)]
        fut_frame = pd.concat([history, fe[[SERIES_ID, TIME_COL, *[c for c in fut_cols if c in fe.columns]]]])
        fut_frame = fut_frame.drop_duplicates([SERIES_ID, TIME_COL], keep="last")

    def to_matrix(frame: pd.DataFrame, col: str) -> np.ndarray:
        m = np.full((len(bottom_ids), len(weeks)), np.nan)
        sub = frame[frame[col].notna()]
        m[bottom_ids.get_indexer(sub[SERIES_ID]), weeks.get_indexer(sub[TIME_COL])] = sub[col].to_numpy(float)
        # Carry the last known value forward (a plan stays in force until changed), then zero-fill.
        m = pd.DataFrame(m).ffill(axis=1).fillna(0.0).to_numpy()
        return np.asarray(S_mean @ m)

    fut = {c: to_matrix(fut_frame, c) for c in fut_cols}
    obs = {}
    for c in obs_cols:
        m = to_matrix(history, c)
        m[:, n_hist:] = np.nan
        obs[c] = m
    cal = week_calendar(weeks, chinese=config.chinese_calendar, fiscal_year_start_month=config.fiscal_year_start_month)
    return Panel(hierarchy, weeks, n_hist, Y, fut, obs, cal)


def _take(M: np.ndarray, idx: int) -> np.ndarray:
    if idx < 0 or idx >= M.shape[1]:
        return np.full(M.shape[0], np.nan)
    return M[:, idx]


def _window(M: np.ndarray, end: int, width: int) -> np.ndarray:
    start = max(0, end - width + 1)
    if end < 0:
        return np.full((M.shape[0], 1), np.nan)
    return M[:, start : end + 1]


def origin_scale(Y: np.ndarray, o: int) -> np.ndarray:
    """Per-node scale at origin o: mean absolute demand over the last 13 weeks, floored at half the
    52-week mean so a series in a lull does not blow up the normalised target (1 when all zero)."""
    s = np.nanmean(np.abs(_window(Y, o, SCALE_WINDOW)), axis=1)
    long = np.nanmean(np.abs(_window(Y, o, 52)), axis=1)
    s = np.fmax(s, 0.5 * long)
    return np.where(np.isfinite(s) & (s > 0), s, 1.0)


def origin_block(panel: Panel, o: int, horizon: int, config: ForecastConfig) -> tuple[list[str], np.ndarray]:
    """Feature matrix (node x h rows, h-major) and column names for forecast origin index ``o``.

    Loops run over horizons only; every feature is a vector over all nodes at once.
    """
    Y = panel.Y
    m = config.season_length
    n = Y.shape[0]
    nan = np.full(n, np.nan)
    scale = origin_scale(Y, o)
    base: dict[str, np.ndarray] = {}
    for k in config.lags:
        base[f"lag_{k}"] = _take(Y, o - k + 1) / scale
    for w in config.windows:
        win = _window(Y, o, w)
        base[f"roll_mean_{w}"] = np.nanmean(win, axis=1) / scale
        base[f"roll_std_{w}"] = np.nanstd(win, axis=1) / scale
    recent = np.nansum(_window(Y, o, SCALE_WINDOW), axis=1)
    if o - m >= SCALE_WINDOW - 1:
        year_ago = np.nansum(_window(Y, o - m, SCALE_WINDOW), axis=1)
        growth = np.where(np.abs(year_ago) > 0, recent / np.where(year_ago == 0, 1, year_ago), np.nan)
        growth = np.clip(growth, 0.25, 4.0)
    else:
        growth = nan
    base["yoy_growth"] = growth
    # The traditional forecast (last year's week x YoY growth) as the baseline the global model corrects.
    trad_growth = np.where(np.isfinite(growth), np.clip(growth, 0.5, 2.0), 1.0)
    fallback = np.nanmean(_window(Y, o, SCALE_WINDOW), axis=1) / scale
    base["log_scale"] = np.log1p(scale)
    base["level_code"] = panel.hierarchy.level_codes
    base["log_n_bottom"] = np.log(panel.hierarchy.nodes["n_bottom"].to_numpy(float))
    for c, M in panel.observed_exog.items():
        base[f"obs_{c}"] = _take(M, o)
        base[f"obs_{c}_mean4"] = np.nanmean(_window(M, o, 4), axis=1)
    cal = panel.calendar[list(CALENDAR_COLS)].to_numpy()
    price_ref = None
    if "price" in panel.future_exog:
        price_ref = np.nanmean(_window(panel.future_exog["price"], o, SCALE_WINDOW), axis=1)
        price_ref = np.where(price_ref > 0, price_ref, np.nan)
    profile = profile_forecast(panel, o, horizon, config) / scale[:, None] if config.baseline == "profile" else None
    base_names = list(base)
    base_mat = np.column_stack([base[k] for k in base_names])
    names: list[str] = []
    blocks = []
    for h in range(1, horizon + 1):
        t = o + h
        f: dict[str, np.ndarray] = {"h": np.full(n, float(h))}
        f["seas_0"] = _take(Y, t - m) / scale
        f["seas_m1"] = _take(Y, t - m - 1) / scale
        f["seas_p1"] = _take(Y, t - m + 1) / scale if t - m + 1 <= o else nan
        f["trad"] = f["seas_0"] * growth
        f["baseline"] = np.where(np.isfinite(f["seas_0"]), f["seas_0"] * trad_growth, fallback)
        if profile is not None:
            # The seasonal profile (holiday-aligned, pooled across account managers) is what the trees correct.
            f["baseline"] = profile[:, h - 1]
        for j, c in enumerate(CALENDAR_COLS):
            f[c] = np.full(n, cal[t, j] if t < len(panel.weeks) else np.nan)
        for c, M in panel.future_exog.items():
            cur = _take(M, t)
            f[f"fut_{c}"] = cur
            if price_ref is not None and c == "price":
                # Price relative to the recent average captures elasticity across series of any scale.
                f["fut_price_rel"] = cur / price_ref
        tgt = Y[:, t] if t < panel.n_hist else nan
        f["row"] = np.arange(n, dtype=float)
        f["target_idx"] = np.full(n, float(t))
        f["origin_idx"] = np.full(n, float(o))
        f["scale"] = scale
        f["y_target"] = tgt
        names = base_names + list(f)
        blocks.append(np.hstack([base_mat, np.column_stack(list(f.values()))]))
    return names, np.vstack(blocks)


def origin_features(panel: Panel, o: int, horizon: int, config: ForecastConfig) -> pd.DataFrame:
    """Feature rows (node x h) for forecast origin index ``o`` (the last observed week) as a DataFrame."""
    names, mat = origin_block(panel, o, horizon, config)
    out = pd.DataFrame(mat, columns=names)
    for c in ("row", "target_idx", "origin_idx"):
        out[c] = out[c].astype(int)
    return out


META_COLS = ("row", "target_idx", "origin_idx", "scale", "y_target")


def build_features(
    history_df: pd.DataFrame,
    cutoff: pd.Timestamp | str,
    config: ForecastConfig | None = None,
    future_exog: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Features of every hierarchy node for a forecast made at ``cutoff`` (last observed week), h = 1..horizon.

    Returns one row per (node, h) with ``level, node_id, cutoff, h, target_week`` then the feature columns
    (target-derived features are divided by the node's scale) and ``y_target`` (actual, NaN if unknown).
    """
    config = config or ForecastConfig()
    hist = validate_history(history_df, week_start=config.week_start)
    panel = build_panel(hist, config, future_exog=future_exog)
    o = panel.week_index(cutoff)
    if o >= panel.n_hist:
        raise ContractError(f"cutoff {pd.Timestamp(cutoff).date()} is after the last history week")
    feats = origin_features(panel, o, config.horizon, config)
    nodes = panel.hierarchy.nodes
    feats.insert(0, "level", nodes["level"].to_numpy()[feats["row"]])
    feats.insert(1, "node_id", nodes["node_id"].to_numpy()[feats["row"]])
    feats.insert(2, "cutoff", panel.weeks[o])
    tidx = np.minimum(feats["target_idx"].to_numpy(), len(panel.weeks) - 1)
    feats.insert(3, "target_week", panel.weeks[tidx])
    return feats


def aligned_last_year(M: np.ndarray, shift_days: np.ndarray, targets: np.ndarray, o: int) -> np.ndarray:
    """``M``'s holiday-aligned value a year before each target week (n_rows, len(targets)).

    ``shift_days[t]`` (:func:`ml.calendar.season_shift_days`) says how far back the same week last year is; a
    shift that is not a whole number of weeks (365 days = 52 weeks + 1 day) reads a day-weighted mix of the two
    weeks it straddles, as if each week's value were spread evenly over its days. Weeks before the panel or after
    the origin ``o`` are NaN.
    """
    lag = shift_days[targets] / 7.0
    k = np.floor(lag).astype(int)
    frac = lag - k
    src = targets - k

    def take(idx: np.ndarray) -> np.ndarray:
        ok = (idx >= 0) & (idx <= o)
        out = np.full((M.shape[0], len(idx)), np.nan)
        out[:, ok] = M[:, idx[ok]]
        return out

    a, b = take(src), take(src - 1)
    return np.where(frac[None, :] > 0, (1 - frac) * a + frac * np.where(np.isfinite(b), b, a), a)


def pooled_denoise(panel: Panel, o: int, rank: int) -> np.ndarray:
    """The panel's target up to origin ``o`` (n_nodes, o + 1), each SKU's grain series replaced by their rank-``rank``
    SVD reconstruction across account managers (the SKU's shared seasonal shapes, without each series' one-off
    noise); aggregate nodes are left as they are (their sums already average the noise out). rank 0 = no change."""
    Y = np.nan_to_num(panel.Y[:, : o + 1])
    if rank <= 0:
        return Y
    h = panel.hierarchy
    n_agg = Y.shape[0] - h.n_bottom
    grain = Y[n_agg:].copy()
    codes = pd.factorize(h.bottom["sku_id"])[0]
    for c in range(codes.max() + 1):
        rows = np.flatnonzero(codes == c)
        if len(rows) <= rank:
            continue  # too few series to pool: the reconstruction would be the data itself
        U, s, Vt = np.linalg.svd(grain[rows], full_matrices=False)
        grain[rows] = (U[:, :rank] * s[:rank]) @ Vt[:rank]
    return np.vstack([Y[:n_agg], grain])


def profile_forecast(panel: Panel, o: int, horizon: int, config: ForecastConfig) -> np.ndarray:
    """The seasonal-profile forecast (n_nodes, horizon): the holiday-aligned value a year before each target week,
    read from the SKU-pooled denoised history (:func:`pooled_denoise`, ``config.profile_rank``), times the
    year-over-year growth of the last 13 weeks (of as many weeks as have a year before them, when fewer do),
    clipped to 0.5..2, read from the raw history or (``config.profile_growth: denoised``) from the denoised one. Without a year of history: the mean of the last 13 weeks."""
    from ml.calendar import season_shift_days

    Y = panel.Y
    m = config.season_length
    D = pooled_denoise(panel, o, config.profile_rank)
    shift = season_shift_days(panel.weeks, config.holiday_alignment, m)
    targets = np.arange(o + 1, o + 1 + horizon)
    targets = np.minimum(targets, len(panel.weeks) - 1)
    last_year = aligned_last_year(D, shift, targets, o)
    n = min(SCALE_WINDOW, o - m + 1)
    if n >= 1:
        G = D if config.profile_growth == "denoised" else Y
        recent = np.nansum(_window(G, o, n), axis=1)
        year_ago = np.nansum(_window(G, o - m, n), axis=1)
        growth = np.clip(np.where(year_ago > 0, recent / np.where(year_ago > 0, year_ago, 1.0), 1.0), 0.5, 2.0)
    else:
        growth = np.ones(Y.shape[0])
    level = np.nan_to_num(np.nanmean(_window(Y, o, SCALE_WINDOW), axis=1))
    return np.where(np.isfinite(last_year), last_year * growth[:, None], level[:, None])
