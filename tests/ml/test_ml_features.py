"""Feature building: no leakage past the cutoff, and clear contract errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.config import ForecastConfig
from ml.features import build_features
from ml.schema import ContractError

CFG = ForecastConfig(horizon=13)
CUTOFF = pd.Timestamp("2024-03-04")


def test_features_ignore_everything_after_the_cutoff(history: pd.DataFrame) -> None:
    base = build_features(history, CUTOFF, CFG)
    perturbed = history.copy()
    after = perturbed["week_start"] > CUTOFF
    rng = np.random.default_rng(1)
    perturbed.loc[after, "y"] = rng.normal(1e6, 1e5, after.sum())
    perturbed.loc[after, "email_opens"] = 999.0  # observed-only signal: must be read as of the cutoff
    changed = build_features(perturbed, CUTOFF, CFG)
    feature_cols = [c for c in base.columns if c not in ("y_target",)]
    pd.testing.assert_frame_equal(base[feature_cols], changed[feature_cols])
    # The targets themselves do move, so the perturbation really reached the frame.
    assert not np.allclose(base["y_target"].to_numpy(), changed["y_target"].to_numpy(), equal_nan=True)


def test_future_known_exog_is_read_at_the_target_week(history: pd.DataFrame) -> None:
    planned = history.copy()
    target = CUTOFF + pd.Timedelta(weeks=2)
    planned.loc[planned["week_start"] == target, "promo_flag"] = 1.0
    f = build_features(planned, CUTOFF, CFG)
    grain = f[f["level"] == "grain"]
    assert (grain.loc[grain["h"] == 2, "fut_promo_flag"] == 1.0).all()
    assert grain.columns.str.startswith("cal_").sum() >= 5
    assert {"lag_1", "roll_mean_4", "seas_0", "trad", "obs_email_opens"} <= set(f.columns)


def test_every_level_gets_features(history: pd.DataFrame) -> None:
    f = build_features(history, CUTOFF, CFG)
    counts = f.groupby("level")["node_id"].nunique()
    assert counts["grain"] == 50 and counts["total"] == 1
    assert counts["account_manager"] == 5 and counts["sku"] == 5 and counts["region"] == 2


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.drop(columns=["sku_id"]), "sku_id"),
        (lambda d: d.assign(week_start=d["week_start"] + pd.Timedelta(days=1)), "Monday"),
        (lambda d: d.assign(y=d["y"].astype(object).where(d.index != 7, "abc")), "'y' is not numeric"),
        (lambda d: pd.concat([d, d.iloc[[3]]]), "duplicate"),
        (lambda d: d.assign(region=d["region"].where(d.index != 0, "Elsewhere")), "more than one"),
    ],
)
def test_contract_errors_name_the_problem(history: pd.DataFrame, mutate, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        build_features(mutate(history), CUTOFF, CFG)


def test_cutoff_outside_history_is_rejected(history: pd.DataFrame) -> None:
    with pytest.raises(ContractError, match="cutoff"):
        build_features(history, "2031-01-06", CFG)
