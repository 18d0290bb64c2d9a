"""Coherence: after reconciliation every parent equals the sum of its children, at every level and
for months/quarters; the reconciler is chosen and recorded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hierarchicalforecast.methods import BottomUp, MinTrace

from ml.config import RECONCILERS, ForecastConfig, LGBMParams
from ml.forecaster import Forecaster
from ml.hierarchy import reconcile
from ml.schema import LEVELS

FAST = ForecastConfig(horizon=8, calibration_origins=1, origin_stride=3, lgbm=LGBMParams(n_estimators=30, num_threads=1))


def _check_coherent(fc: pd.DataFrame, history: pd.DataFrame) -> None:
    bottom = history.drop_duplicates(["account_manager_id", "sku_id", "channel"]).copy()
    bottom["grain"] = bottom["account_manager_id"] + "|" + bottom["sku_id"] + "|" + bottom["channel"]
    g = fc[(fc["level"] == "grain") & (fc["period"] == "week")].merge(bottom, left_on="node_id", right_on="grain")
    for level, cols in LEVELS.items():
        if level == "grain":
            continue
        key = g[list(cols)].astype(str).agg("/".join, axis=1) if cols else pd.Series("total", index=g.index)
        summed = g.groupby([key, g["period_start"]])["mean"].sum()
        parent = fc[(fc["level"] == level) & (fc["period"] == "week")].set_index(["node_id", "period_start"])["mean"]
        summed.index.names = parent.index.names
        assert len(parent) == len(summed) > 0, level
        np.testing.assert_allclose(parent.sort_index().to_numpy(), summed.sort_index().to_numpy(), rtol=1e-6, atol=1e-6)
    weeks = fc[fc["period"] == "week"]
    months = fc[fc["period"] == "month"].set_index(["level", "node_id", "period_start"])["mean"].sort_index()
    wk_month = weeks.groupby(["level", "node_id", weeks["period_start"].dt.to_period("M").dt.start_time])["mean"].sum()
    wk_month.index.names = months.index.names
    np.testing.assert_allclose(months.to_numpy(), wk_month.sort_index().to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("method", RECONCILERS)
def test_reconciled_forecasts_are_coherent(history: pd.DataFrame, method: str) -> None:
    cfg = FAST.model_copy(update={"reconciler": method})
    fc = Forecaster("lgbm", cfg).fit(history).predict()
    assert set(fc["reconciliation"]) == {method}
    assert set(fc["level"]) == set(LEVELS)
    assert {"week", "month", "quarter"} == set(fc["period"])
    _check_coherent(fc, history)


def test_incoherent_base_becomes_coherent(history: pd.DataFrame) -> None:
    f = Forecaster("seasonal_naive", FAST).fit(history)
    H = f.hierarchy
    rng = np.random.default_rng(3)
    base = rng.normal(100, 30, (H.S.shape[0], 4))
    assert not np.allclose(H.S @ base[-H.n_bottom :], base)
    for method in RECONCILERS:
        rec = reconcile(base, H, method)
        np.testing.assert_allclose(H.S @ rec[-H.n_bottom :], rec, atol=1e-6)


@pytest.mark.parametrize(
    ("method", "reference"),
    [("bottom_up", lambda: BottomUp()), ("mint_ols", lambda: MinTrace(method="ols")),
     ("mint_wls_struct", lambda: MinTrace(method="wls_struct"))],
)
def test_sparse_reconciliation_equals_hierarchicalforecast(history: pd.DataFrame, method: str, reference) -> None:
    """Our sparse constraint-form solve gives hierarchicalforecast's answer on the dense summing matrix."""
    H = Forecaster("seasonal_naive", FAST).fit(history).hierarchy
    assert sp.issparse(H.S) and H.S.shape[0] > H.n_bottom > 10
    base = np.random.default_rng(11).normal(100, 30, (H.S.shape[0], 5))
    want = np.asarray(reference().fit_predict(S=H.S.toarray(), y_hat=base)["mean"], dtype=float)
    np.testing.assert_allclose(reconcile(base, H, method), want, rtol=1e-7, atol=1e-6)


def test_reconcile_accepts_a_dense_summing_matrix(history: pd.DataFrame) -> None:
    """Forecasters pickled before the summing matrix became sparse still reconcile."""
    H = Forecaster("seasonal_naive", FAST).fit(history).hierarchy
    base = np.random.default_rng(5).normal(50, 10, (H.S.shape[0], 3))
    dense = dataclasses.replace(H, S=H.S.toarray())
    np.testing.assert_allclose(reconcile(base, dense, "mint_wls_struct"), reconcile(base, H, "mint_wls_struct"))


def test_reconciler_is_chosen_by_calibration(history: pd.DataFrame) -> None:
    f = Forecaster("traditional", FAST).fit(history)
    cal = f.calibration_metrics
    assert set(cal["method"]) == set(RECONCILERS)
    best = cal.groupby("method")["wape"].mean().idxmin()
    assert f.reconciler == best
