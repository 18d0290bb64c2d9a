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
from ml.forecaster import Forecaster, choose_reconciler
from ml.hierarchy import reconcile, residual_variances
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
    variances = rng.gamma(2.0, 10.0, H.S.shape[0])
    for method in RECONCILERS:
        rec = reconcile(base, H, method, variances)
        np.testing.assert_allclose(H.S @ rec[-H.n_bottom :], rec, atol=1e-6)
    with pytest.raises(ValueError, match="mint_wls_var needs one residual variance per node"):
        reconcile(base, H, "mint_wls_var")


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


def test_wls_var_equals_hierarchicalforecast(history: pd.DataFrame) -> None:
    """mint_wls_var from base-forecast errors gives MinTrace(wls_var) fed the same in-sample errors."""
    H = Forecaster("seasonal_naive", FAST).fit(history).hierarchy
    rng = np.random.default_rng(12)
    n = H.S.shape[0]
    base = rng.normal(100, 30, (n, 5))
    y_in = rng.normal(100, 30, (n, 20))
    y_hat_in = y_in + rng.normal(0, 1, (n, 1)) * rng.normal(0, 5, (n, 20))
    want = MinTrace(method="wls_var").fit_predict(S=H.S.toarray(), y_hat=base, y_insample=y_in, y_hat_insample=y_hat_in)["mean"]
    got = reconcile(base, H, "mint_wls_var", residual_variances(y_hat_in - y_in))
    np.testing.assert_allclose(got, np.asarray(want, dtype=float), rtol=1e-6, atol=1e-6)


def test_wls_var_leaves_small_series_alone(history: pd.DataFrame) -> None:
    """An aggregate correction lands on the series whose base errors are large, not evenly on tiny ones:
    OLS moves a near-constant small grain series as much as a big one, wls_var barely touches it."""
    H = Forecaster("seasonal_naive", FAST).fit(history).hierarchy
    n, nb = H.S.shape
    bottom = np.full((nb, 1), 100.0)
    base = np.asarray(H.S @ bottom, dtype=float)
    base[0] += 500.0  # the total's base forecast disagrees with the sum of its grain series
    variances = np.full(n, 100.0)
    variances[n - nb] = 1e-6  # grain series 0: small and almost perfectly forecast
    ols = reconcile(base, H, "mint_ols")
    var = reconcile(base, H, "mint_wls_var", residual_variances(np.sqrt(variances)[:, None]))
    moved_ols = abs(ols[n - nb, 0] - 100.0)
    moved_var = abs(var[n - nb, 0] - 100.0)
    assert moved_ols > 1.0 and moved_var < 1e-3 * moved_ols


def test_choose_reconciler_refuses_a_method_that_worsens_grain_mase() -> None:
    """A method with the best mean WAPE over levels but a worse grain MASE than bottom-up is not chosen."""
    rows = []
    for method, wape_top, wape_grain, mase_grain in [("bottom_up", 0.20, 0.90, 1.00), ("mint_ols", 0.05, 0.85, 9.24),
                                                     ("mint_wls_var", 0.10, 0.88, 0.99)]:
        rows += [{"method": method, "level": "total", "wape": wape_top, "mase": 1.0},
                 {"method": method, "level": "grain", "wape": wape_grain, "mase": mase_grain}]
    cal = pd.DataFrame(rows)
    assert cal.groupby("method")["wape"].mean().idxmin() == "mint_ols"  # what the old WAPE-only rule picked
    assert choose_reconciler(cal) == "mint_wls_var"
    assert choose_reconciler(cal[cal["method"] != "mint_wls_var"]) == "bottom_up"


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
    assert f.reconciler == choose_reconciler(cal)
    assert f.variances is not None and len(f.variances) == f.hierarchy.S.shape[0]
    mase = cal[cal["level"] == "grain"].groupby("method")["mase"].mean()
    assert mase[f.reconciler] <= mase["bottom_up"] * (1 + 1e-9)
