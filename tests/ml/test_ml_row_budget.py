"""The training-row budget of the global models (ForecastConfig.max_train_rows): the lgbm family keeps the newest
origins that fit, the mlf family the newest weeks; both still train and forecast inside the budget."""

from __future__ import annotations

import numpy as np
from conftest import make_history

from ml.config import ForecastConfig, LGBMParams, MLFParams
from ml.features import build_panel
from ml.mlf import MLForecastGlobal
from ml.models import LGBMGlobal, origins_within_budget
from ml.schema import validate_history

CFG = ForecastConfig(horizon=8, lags=[1, 2, 4], windows=[4], min_history=4, chinese_calendar=False,
                     lgbm=LGBMParams(n_estimators=20, num_leaves=7, min_child_samples=10),
                     mlf=MLFParams(n_estimators=20, num_leaves=7, min_child_samples=10))


def test_origins_within_budget_keeps_the_newest_that_fit() -> None:
    origins = list(range(10, 40))
    # 100 series; origins 39..32 see 1..8 weeks of targets before o=40 (100..800 rows), older ones 800 each
    kept = origins_within_budget(origins, 40, 8, 100, 5_000)
    assert kept == origins[-len(kept):] and kept[-1] == 39
    rows = sum(100 * min(8, 40 - oo) for oo in kept)
    assert rows <= 5_000 and rows + 100 * min(8, 40 - (kept[0] - 1)) > 5_000
    assert origins_within_budget(origins, 40, 8, 100, None) == origins
    assert origins_within_budget(origins, 40, 8, 10_000, 10) == [39]  # below one origin: the newest still trains


def test_lgbm_trains_on_at_most_the_budget() -> None:
    panel = build_panel(validate_history(make_history(n_am=2, n_sku=3, n_weeks=80)), CFG)
    full = LGBMGlobal().training_frame(panel, 70, CFG)
    budget = len(full) // 3
    cfg = CFG.model_copy(update={"max_train_rows": budget})
    capped = LGBMGlobal().training_frame(panel, 70, cfg)
    assert len(capped) <= budget < len(full)
    model = LGBMGlobal().fit(panel, 70, cfg)
    assert np.isfinite(model.predict(panel, 70, 8, cfg)).all()


def test_mlf_trains_on_the_newest_weeks_only() -> None:
    panel = build_panel(validate_history(make_history(n_am=2, n_sku=3, n_weeks=80)), CFG)
    n = panel.Y.shape[0]
    sizes = {}
    for budget in (None, 30 * n):
        cfg = CFG.model_copy(update={"max_train_rows": budget})
        model = MLForecastGlobal().fit(panel, 70, cfg)
        sizes[budget] = model.mlf.ts.ga.data.size  # the target history mlforecast was fitted on
        assert np.isfinite(model.predict(panel, 70, 8, cfg)).all()
    # 30 weeks is below the longest lag (52) + the horizon (8): the floor of 60 weeks wins, of the 71 there are
    assert sizes[30 * n] == 60 * n < sizes[None] == 71 * n
