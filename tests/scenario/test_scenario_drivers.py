"""The scenario frame read from a real DuckDB warehouse: every driver the warehouse supports, hand-computed on the
small book; neutral when its tables are absent; defaults still reproduce the base exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.levers import Levers
from ml.scenario import DRIVER_COLUMNS, ScenarioEngine, ScenarioError, load_scenario_frame

GRAIN = ["account_manager_id", "sku_id", "channel"]


def _by_grain(frame: pd.DataFrame, col: str) -> dict[tuple[str, str, str], float]:
    return frame.groupby(GRAIN)[col].first().to_dict()


def test_drivers_from_the_warehouse_hand_computed(book) -> None:
    f = load_scenario_frame(book)
    assert sorted(f.attrs["drivers"]) == sorted(DRIVER_COLUMNS)
    # the newest origin (2026-11-16) only, 13 weeks of 10 grains
    assert f["week_start"].min() == pd.Timestamp("2026-11-23") and len(f) == 13 * 10
    mpi = _by_grain(f, "material_price_index")
    # S1 = 2 kg of M1: 12 now over the 13-week mean (11 weeks at 10, 2 at 12); S3's M2 never moved; S2 has no BOM
    assert mpi[("AM1", "S1", "direct")] == pytest.approx(12 / (134 / 13))
    assert mpi[("AM2", "S3", "direct")] == 1.0 and mpi[("AM1", "S2", "direct")] == 1.0
    # PL2 capacity 60 + 40 per week, split by forecast share: 55 and 77 of 132
    cap = _by_grain(f, "capacity_units")
    assert cap[("AM1", "S3", "direct")] == pytest.approx(100 * 55 / 132)
    assert cap[("AM2", "S3", "direct")] == pytest.approx(100 * 77 / 132)
    assert np.isnan(cap[("AM1", "S1", "direct")])  # no capacity plan for PL1: unconstrained
    # AM1: one signal a week for 48 weeks, five a week for the last 4 -> z of the recent rate
    n = np.r_[np.ones(48), np.full(4, 5.0)]
    assert _by_grain(f, "intent_score")[("AM1", "S1", "direct")] == pytest.approx((5 - n.mean()) / n.std())
    assert _by_grain(f, "intent_score")[("AM2", "S3", "direct")] == 0.0
    # C3's competitor-naming heat in the last 4 weeks: (2 + 2) / 4; C3 is 10 of the 70 units of AM2/S3
    heat = _by_grain(f, "complaint_heat")
    assert heat[("AM2", "S2", "direct")] == pytest.approx(1.0)
    assert heat[("AM2", "S3", "direct")] == pytest.approx(10 / 70)
    # health: C3 yellow (0.5) x 10 + C4 red (1) x 60 over 70
    hb = _by_grain(f, "health_band_weight")
    assert hb[("AM2", "S3", "direct")] == pytest.approx(65 / 70) and hb[("AM1", "S3", "direct")] == 0.0
    # tier-A C1 (20 of the 50 tier-A units of AM1/S3) has an open PL2 opportunity closing in the horizon
    ps = _by_grain(f, "project_share")
    assert ps[("AM1", "S3", "direct")] == pytest.approx(0.4) and ps[("AM1", "S1", "direct")] == 0.0


def test_defaults_reproduce_base_and_levers_act_through_the_read_drivers(book) -> None:
    f = load_scenario_frame(book)
    eng = ScenarioEngine.prepare(f)
    assert np.array_equal(eng.apply(Levers()), f["y_hat"].to_numpy())
    capped = pd.Series(eng.apply(Levers.with_overrides({"capacity_enforcement": 1})), index=f.index)
    pl2 = f["sku_id"] == "S3"
    assert capped[pl2].groupby(f["week_start"]).sum().round(6).eq(100.0).all()  # hard cap = the line's capacity
    assert capped[~pl2].equals(f.loc[~pl2, "y_hat"])
    churn = pd.Series(eng.apply(Levers.with_overrides({"churn_risk_discount": 0.9})), index=f.index)
    row = (f["account_manager_id"] == "AM2") & (f["sku_id"] == "S3")
    w = 65 / 70
    assert (churn[row] / f.loc[row, "y_hat"]).to_numpy() == pytest.approx((1 - 0.9 * w) / (1 - 0.2 * w))


def test_absent_tables_leave_their_drivers_neutral(neutral_book) -> None:
    f = load_scenario_frame(neutral_book)
    assert f.attrs["drivers"] == []
    assert (f["material_price_index"] == 1).all() and f["capacity_units"].isna().all()
    assert (f[["intent_score", "complaint_heat", "health_band_weight", "project_share"]] == 0).all().all()


def test_no_forecast_is_a_clear_error(neutral_book) -> None:
    with neutral_book.connect() as con:
        con.execute("delete from raw.forecast_predictions")  # dbt's views read it live: no forecast rows
    with pytest.raises(ScenarioError, match="raw.forecast_predictions does not exist yet or is empty"):
        load_scenario_frame(neutral_book)


def test_health_band_weight_out_of_range_is_rejected() -> None:
    frame = pd.DataFrame({"account_manager_id": ["A"], "sku_id": ["S"], "channel": ["direct"],
                          "week_start": ["2026-11-23"], "y_hat": [10.0], "health_band_weight": [1.5]})
    with pytest.raises(ScenarioError, match=r"health_band_weight must lie in \[0, 1\]"):
        ScenarioEngine.prepare(frame)
