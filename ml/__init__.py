"""Demand forecasting at the grain account manager x SKU x week x channel, coherent at every level.

Input contract (validated by ``ml.schema.validate_history``; errors name the column and rows):

    history_df: one row per grain series and week
        account_manager_id, sku_id, channel   grain keys; series id = "account_manager_id|sku_id|channel"
        week_start                            first day of the week (date): ForecastConfig.week_start's
                                              weekday, Monday by default (the company's calendar.week_start)
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

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use, so `import ml.config` (the code location does) does not load MLflow and LightGBM.
_EXPORTS = {
    'BacktestResult': 'ml.backtest',
    'backtest': 'ml.backtest',
    'default_cutoffs': 'ml.backtest',
    'ForecastConfig': 'ml.config',
    'LGBMParams': 'ml.config',
    'build_features': 'ml.features',
    'Forecaster': 'ml.forecaster',
    'forecast': 'ml.forecaster',
    'build_hierarchy': 'ml.hierarchy',
    'reconcile': 'ml.hierarchy',
    'ContractError': 'ml.schema',
    'validate_history': 'ml.schema',
    'PromotionDecision': 'ml.tracking',
    'TrainResult': 'ml.tracking',
    'champion_forecaster': 'ml.tracking',
    'get_client': 'ml.tracking',
    'load_champion': 'ml.tracking',
    'model_name': 'ml.tracking',
    'promote_if_better': 'ml.tracking',
    'rollback': 'ml.tracking',
    'train_and_log': 'ml.tracking',
}

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


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ml' has no attribute {name!r}")
