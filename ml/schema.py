"""Input contract of the forecasting library: column names, hierarchy levels and validation.

Every public entry point validates its input here, so a bad frame fails with the
column and row that are wrong instead of deep inside pandas or LightGBM.
"""

from __future__ import annotations

import pandas as pd

KEY_COLS: tuple[str, ...] = ("account_manager_id", "sku_id", "channel")
HIERARCHY_COLS: tuple[str, ...] = ("product_line", "cluster_id", "region")
TIME_COL = "week_start"
TARGET_COL = "y"
SERIES_ID = "unique_id"
SERIES_SEP = "|"
# The day a forecast week starts on (the company's calendar.week_start): week_start dates are that weekday, and
# every weekly grid is the pandas frequency ``W-MON``, ``W-SUN``, ... of it.
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def week_weekday(week_start: str) -> int:
    """The weekday of ``week_start`` as pandas counts it (Monday = 0); raises ContractError for an unknown name."""
    try:
        return WEEKDAYS.index(str(week_start).lower())
    except ValueError:
        raise ContractError(f"week_start {week_start!r} is not a weekday; choose from {WEEKDAYS}") from None


def week_freq(week_start: str = "monday") -> str:
    """The pandas frequency of weeks starting on ``week_start``: ``W-MON`` for Monday, ``W-SUN`` for Sunday."""
    return f"W-{WEEKDAYS[week_weekday(week_start)][:3].upper()}"

# Exogenous columns known for the future (plans the business sets): used at the target week.
FUTURE_EXOG: tuple[str, ...] = (
    "promo_flag",
    "discount_pct",
    "price",
    "capacity_units",
    "material_price_index",
)
# Exogenous columns only observed after the fact (CRM/ERP signals): used as of the forecast origin.
OBSERVED_EXOG: tuple[str, ...] = (
    "email_opens",
    "proposal_downloads",
    "meeting_sentiment",
    "complaint_heat",
    "health_score",
)
KNOWN_EXOG: tuple[str, ...] = FUTURE_EXOG + OBSERVED_EXOG

# Cross-sectional levels, top to bottom; each maps to the columns that identify a node.
LEVELS: dict[str, tuple[str, ...]] = {
    "total": (),
    "region": ("region",),
    "cluster": ("region", "cluster_id"),
    "account_manager": ("region", "cluster_id", "account_manager_id"),
    "product_line": ("product_line",),
    "sku": ("product_line", "sku_id"),
    "grain": ("region", "cluster_id", "account_manager_id", "product_line", "sku_id", "channel"),
}
BOTTOM_LEVEL = "grain"


class ContractError(ValueError):
    """Raised when an input frame breaks the contract; the message names the column and rows."""


def series_id(df: pd.DataFrame) -> pd.Series:
    """The grain id ``account_manager_id|sku_id|channel`` for every row (vectorised)."""
    out = df[KEY_COLS[0]].astype(str)
    for col in KEY_COLS[1:]:
        out = out + SERIES_SEP + df[col].astype(str)
    return out


def _bad_rows(mask: pd.Series, limit: int = 5) -> str:
    idx = list(mask[mask].index[:limit])
    return f"{int(mask.sum())} row(s), first at index {idx}"


def validate_history(df: pd.DataFrame, *, name: str = "history_df", require_target: bool = True,
                     week_start: str = "monday") -> pd.DataFrame:
    """Check the contract and return a normalised copy (week_start as a Timestamp on the ``week_start`` weekday,
    the company's first day of the week; float y).

    Raises ContractError naming the frame, column and offending rows.
    """
    if not isinstance(df, pd.DataFrame):
        raise ContractError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
    required = list(KEY_COLS) + [TIME_COL] + list(HIERARCHY_COLS) + ([TARGET_COL] if require_target else [])
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ContractError(f"{name}: missing required column(s) {missing}; have {list(df.columns)}")
    out = df.copy()
    for col in list(KEY_COLS) + list(HIERARCHY_COLS):
        null = out[col].isna()
        if null.any():
            raise ContractError(f"{name}: column '{col}' has nulls: {_bad_rows(null)}")
    weeks = pd.to_datetime(out[TIME_COL], errors="coerce")
    bad = weeks.isna()
    if bad.any():
        raise ContractError(f"{name}: column '{TIME_COL}' has unparseable dates: {_bad_rows(bad)}")
    off_day = weeks.dt.dayofweek != week_weekday(week_start)
    if off_day.any():
        first = weeks[off_day].iloc[0]
        raise ContractError(f"{name}: column '{TIME_COL}' must be a {week_start.capitalize()} (the week start): "
                            f"{_bad_rows(off_day)} ({first.date()} is a {first.day_name()})")
    out[TIME_COL] = weeks.dt.normalize()
    if require_target:
        y = pd.to_numeric(out[TARGET_COL], errors="coerce")
        bad = y.isna() & out[TARGET_COL].notna()
        if bad.any():
            raise ContractError(f"{name}: column '{TARGET_COL}' is not numeric: {_bad_rows(bad)}")
        if y.isna().any():
            raise ContractError(f"{name}: column '{TARGET_COL}' has nulls: {_bad_rows(y.isna())}")
        out[TARGET_COL] = y.astype(float)
    for col in KNOWN_EXOG:
        if col in out.columns:
            vals = pd.to_numeric(out[col], errors="coerce")
            bad = vals.isna() & out[col].notna()
            if bad.any():
                raise ContractError(f"{name}: exogenous column '{col}' is not numeric: {_bad_rows(bad)}")
            out[col] = vals.astype(float)
    out[SERIES_ID] = series_id(out)
    dup = out.duplicated([SERIES_ID, TIME_COL])
    if dup.any():
        raise ContractError(f"{name}: duplicate (series, {TIME_COL}) rows: {_bad_rows(dup)}")
    # A grain series must sit in exactly one place of the hierarchy, or sums would double count.
    n_paths = out.groupby(SERIES_ID)[list(HIERARCHY_COLS)].nunique().max(axis=1)
    if (n_paths > 1).any():
        sid = n_paths[n_paths > 1].index[0]
        raise ContractError(f"{name}: series '{sid}' maps to more than one {list(HIERARCHY_COLS)} combination")
    return out


def require_columns(df: pd.DataFrame, cols, name: str, error: type[ValueError] = ContractError) -> None:
    """Raise ``error`` naming the frame and the missing columns (and the ones it has)."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise error(f"{name}: missing column(s) {missing}; has {list(df.columns)}")


def numeric_column(df: pd.DataFrame, col: str, name: str, error: type[ValueError] = ContractError) -> pd.Series:
    """``df[col]`` as numbers; a value that is present but not numeric raises ``error`` naming frame, column, row."""
    v = pd.to_numeric(df[col], errors="coerce")
    bad = v.isna() & df[col].notna()
    if bad.any():
        row = bad.idxmax()
        raise error(f"{name}: column {col} row {row} is not numeric: {df.loc[row, col]!r}")
    return v


# The forecast's tables: what it trains on (a dbt mart) and what it writes (raw.forecast_*).
TRAINING_TABLE = ("marts", "forecast_training_features")
PREDICTIONS_TABLE = ("raw", "forecast_predictions")  # grain x week, what marts read
LEVELS_TABLE = ("raw", "forecast_levels")  # every level x week/month/quarter
RUNS_TABLE = ("raw", "forecast_runs")
