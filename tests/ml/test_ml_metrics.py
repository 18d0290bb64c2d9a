"""Scaled errors (MASE, RMSSE) count a series' history from its first non-zero week, as in M5."""

from __future__ import annotations

import numpy as np

from ml.config import ForecastConfig
from ml.metrics import _in_sample_scales, level_metrics


def test_leading_zeros_do_not_shrink_the_scale() -> None:
    sold = np.array([10.0, 14.0, 9.0, 13.0, 11.0, 15.0])  # one-step naive errors 4, 5, 4, 2, 4
    launched_late = np.concatenate([np.zeros(40), sold])
    mae, rmse = _in_sample_scales(np.vstack([launched_late, np.concatenate([np.full(40, np.nan), sold])]))
    np.testing.assert_allclose(mae, [3.8, 3.8])
    np.testing.assert_allclose(rmse, [np.sqrt(np.mean(np.array([4, 5, 4, 2, 4]) ** 2))] * 2)
    # over the whole zero-filled history it would be 0.64, six times smaller
    assert np.nanmean(np.abs(np.diff(launched_late))) < 0.65


def test_mase_of_a_young_series_is_scaled_by_its_selling_weeks() -> None:
    young = np.concatenate([np.zeros(40), [10.0, 14.0, 9.0, 13.0, 11.0, 15.0]])  # in-sample naive MAE 3.8
    actual = np.array([[12.0, 12.0]])
    pred = np.array([[15.8, 8.2]])  # absolute error 3.8 both weeks
    m = level_metrics(actual, pred, np.array(["grain"]), young[None, :], ForecastConfig())
    np.testing.assert_allclose(m.loc[0, "mase"], 1.0)
    # A series that never sold has no scale: it is left out of MASE instead of dividing by zero.
    m2 = level_metrics(np.vstack([actual, [[0.0, 1.0]]]), np.vstack([pred, [[0.0, 0.0]]]), np.array(["grain", "grain"]),
                       np.vstack([young, np.zeros(46)]), ForecastConfig())
    np.testing.assert_allclose(m2.loc[0, "mase"], 1.0)
    assert m2.loc[0, "n_series"] == 2
