"""Demand forecasting at the grain account manager x SKU x week x channel, coherent at every level.

Input contract (validated by ``ml.schema.validate_history``; errors name the column and rows):

    history_df: one row per grain series and week
        account_manager_id, sku_id, channel   grain keys; series id = "account_manager_id|sku_id|channel"
        week_start                            Monday of the week (date)
        y                                     demand (float; negative = returns)
        product_line, cluster_id, region      hierarchy: SKU -> product line, AM -> cluster -> region
        optional future-known exogenous (read at the target week):
            promo_flag, discount_pct, price, capacity_units, material_price_index
        optional observed-only exogenous (read as of the forecast origin):
            email_opens, proposal_downloads, meeting_sentiment, complaint_heat, health_score
        (more via ForecastConfig.extra_future_exog / extra_observed_exog)
    future_exog: same keys + week_start for the horizon weeks, with the planned future-known columns.

Weeks missing for a series count as zero demand. Levels: total, region, cluster, account_manager,
product_line, sku, grain (ml.schema.LEVELS); time: week -> month -> quarter (sums of weeks).

Public API (what the Dagster assets call):
    build_features(history_df, cutoff, config=None, future_exog=None) -> DataFrame
    backtest(history_df, models, cutoffs, horizon=13, config=None) -> BacktestResult
    train_and_log(history_df, config=None, tracking_uri=None, family="lgbm", cutoffs=None) -> TrainResult
    forecast(model, history_df=None, future_exog=None, horizon=13) -> DataFrame
    reconcile(base, hierarchy, method) -> ndarray
    promote_if_better(client, name, version, metric="wape_bottom") -> PromotionDecision
    load_champion(name, tracking_uri=None), rollback(name, version, client=None, tracking_uri=None)
"""

from ml.backtest import BacktestResult, backtest, default_cutoffs
from ml.config import ForecastConfig, LGBMParams
from ml.features import build_features
from ml.forecaster import Forecaster, forecast
from ml.hierarchy import build_hierarchy, reconcile
from ml.schema import ContractError, validate_history
from ml.tracking import (
    PromotionDecision,
    TrainResult,
    champion_forecaster,
    get_client,
    load_champion,
    model_name,
    promote_if_better,
    rollback,
    train_and_log,
)

__all__ = [
    "BacktestResult",
    "ContractError",
    "ForecastConfig",
    "Forecaster",
    "LGBMParams",
    "PromotionDecision",
    "TrainResult",
    "backtest",
    "build_features",
    "build_hierarchy",
    "champion_forecaster",
    "default_cutoffs",
    "forecast",
    "get_client",
    "load_champion",
    "model_name",
    "promote_if_better",
    "reconcile",
    "rollback",
    "train_and_log",
    "validate_history",
]
