"""Synthetic demand with known structure and noise for the ml tests (50 series x 150 weeks)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("LODESTAR_ML_THREADS", "1")

NOISE_SD = 6.0


def make_history(n_am: int = 5, n_sku: int = 5, n_weeks: int = 150, seed: int = 0) -> pd.DataFrame:
    """Seasonal demand x promo uplift + Gaussian noise with sd NOISE_SD, with a full hierarchy and exog."""
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2022-01-03", periods=n_weeks, freq="W-MON")
    ams = [f"AM{i:02d}" for i in range(n_am)]
    skus = [f"SKU{j:02d}" for j in range(n_sku)]
    grid = pd.MultiIndex.from_product([ams, skus, ["direct", "distributor"], weeks], names=["account_manager_id", "sku_id", "channel", "week_start"]).to_frame(index=False)
    am_i = grid["account_manager_id"].str[2:].astype(int)
    sku_i = grid["sku_id"].str[3:].astype(int)
    grid["product_line"] = np.where(sku_i < n_sku // 2 + 1, "PL-A", "PL-B")
    grid["cluster_id"] = "C" + (am_i % 3).astype(str)
    grid["region"] = np.where(am_i % 3 == 0, "North", "South")
    t = (grid["week_start"] - weeks[0]).dt.days.to_numpy() / 7
    level = 40 + 8 * am_i.to_numpy() + 5 * sku_i.to_numpy() + np.where(grid["channel"] == "direct", 10, 0)
    season = 1 + 0.3 * np.sin(2 * np.pi * t / 52)
    grid["promo_flag"] = (rng.random(len(grid)) < 0.1).astype(float)
    grid["price"] = 100 - 10 * grid["promo_flag"]
    grid["email_opens"] = rng.poisson(3, len(grid)).astype(float)
    grid["y"] = level * season * (1 + 0.4 * grid["promo_flag"]) + rng.normal(0, NOISE_SD, len(grid))
    return grid


@pytest.fixture(scope="session")
def history() -> pd.DataFrame:
    return make_history()
