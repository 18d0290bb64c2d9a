"""A tiny forecast warehouse (marts.forecast_training_features in a DuckDB file) and a real MLflow SQLite store."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lodestar.warehouse import Warehouse

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("LODESTAR_ML_THREADS", "1")

LAST_WEEK = pd.Timestamp("2026-11-16")
N_WEEKS = 70


def training_features(seed: int = 0) -> pd.DataFrame:
    """3 AMs x 2 SKUs x 2 channels, seasonal demand with promotions, in the training-features contract."""
    rng = np.random.default_rng(seed)
    weeks = pd.date_range(end=LAST_WEEK, periods=N_WEEKS, freq="W-MON")
    grid = pd.MultiIndex.from_product(
        [["AM1", "AM2", "AM3"], ["SKU1", "SKU2"], ["direct", "ecommerce"], weeks],
        names=["account_manager_id", "sku_id", "channel", "week_start"],
    ).to_frame(index=False)
    t = np.arange(len(grid)) % N_WEEKS
    base = 30 + 10 * grid["account_manager_id"].str[-1].astype(int) + np.where(grid["channel"] == "direct", 15, 0)
    grid["promo_flag"] = (rng.random(len(grid)) < 0.1).astype(float)
    grid["y"] = np.round(base * (1 + 0.2 * np.sin(2 * np.pi * t / 52)) * (1 + 0.3 * grid["promo_flag"]) + rng.normal(0, 3, len(grid)))
    grid["product_line"] = "PL" + grid["sku_id"].str[-1]
    grid["cluster_id"] = np.where(grid["account_manager_id"] == "AM3", "C2", "C1")
    grid["region"] = np.where(grid["account_manager_id"] == "AM3", "South", "East")
    grid["price"] = 100.0 - 10 * grid["promo_flag"]
    grid["meeting_sentiment"] = np.nan  # null until nlp/ lands, as in the real mart
    grid["week_start"] = grid["week_start"].dt.date
    return grid


@pytest.fixture()
def warehouse(tmp_path: Path) -> Warehouse:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    wh.replace_table("marts", "forecast_training_features", training_features())
    return wh


@pytest.fixture()
def tracking_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"
