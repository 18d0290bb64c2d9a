"""One LightGBM parameter mapping (ml.models.lgbm_params) serves both families: the lgbm family trains with
``lgb.train``, the mlf family with ``LGBMRegressor``; given the same native dict they grow the same trees."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from ml.config import LGBMParams, MLFParams
from ml.models import lgbm_params


@pytest.mark.parametrize(
    "params",
    [
        LGBMParams(objective="l1", n_estimators=40, num_leaves=15, min_child_samples=20),
        LGBMParams(objective="tweedie", n_estimators=40, num_leaves=15, min_child_samples=20),
        # No bagging (fraction 1): bagging_freq=1 must not start it.
        MLFParams(objective="huber", n_estimators=40, bagging_fraction=1.0, feature_fraction=0.5),
    ],
    ids=["l1", "tweedie", "mlf-huber-no-bagging"],
)
def test_train_and_regressor_agree_on_the_native_params(params: LGBMParams) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 6))
    y = np.abs(3 * X[:, 0] + X[:, 1] ** 2 + rng.normal(size=len(X)))
    w = rng.uniform(0.5, 2.0, len(X))
    native = lgbm_params(params)
    booster = lgb.train(native, lgb.Dataset(X, y, weight=w), num_boost_round=params.n_estimators)
    reg = lgb.LGBMRegressor(n_estimators=params.n_estimators, **native).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(booster.predict(X), reg.predict(X))
    assert booster.num_trees() == reg.booster_.num_trees() == params.n_estimators
    # The wrapper's sklearn-named defaults (colsample_bytree=1, reg_lambda=0) do not override the native
    # names: other values of those grow other trees.
    other = {**native, "feature_fraction": 1.0, "lambda_l2": 0.0}
    other_reg = lgb.LGBMRegressor(n_estimators=params.n_estimators, **other).fit(X, y, sample_weight=w)
    assert not np.array_equal(other_reg.predict(X), reg.predict(X))


def test_mlf_params_are_lgbm_params_with_their_own_defaults() -> None:
    m = MLFParams()
    assert isinstance(m, LGBMParams) and (m.objective, m.n_estimators) == ("l1", 300)
    assert set(LGBMParams.model_fields) < set(MLFParams.model_fields)
    with pytest.raises(ValueError, match="extra"):
        MLFParams(n_trees=3)
