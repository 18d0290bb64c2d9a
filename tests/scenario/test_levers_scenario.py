"""Levers: validation messages, identity at defaults, one documented direction per lever, coherent totals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.levers import LEVER_SPECS, SPECS, LeverError, Levers, dump_levers, load_levers, parse_assignments
from ml.scenario import ScenarioEngine, apply_levers, summarize


def test_twelve_levers_with_catalogue_and_defaults_match_model() -> None:
    assert len(LEVER_SPECS) == 12
    lv = Levers()
    for s in LEVER_SPECS:
        assert s.lo <= s.default <= s.hi
        assert getattr(lv, s.name) == s.default
        assert s.direction in {"up", "down", "spread"}


def test_out_of_range_names_lever_and_range() -> None:
    with pytest.raises(LeverError, match=r"safety_stock=5 is out of its allowed range \[0.5, 3\]"):
        Levers.with_overrides({"safety_stock": 5})
    with pytest.raises(LeverError, match="unknown lever 'safty_stock'"):
        Levers.with_overrides({"safty_stock": 1})
    with pytest.raises(LeverError, match="promo_half_life: 'abc' is not a number"):
        Levers.with_overrides({"promo_half_life": "abc"})
    with pytest.raises(LeverError, match="lever=value"):
        parse_assignments(["promo_half_life"])
    with pytest.raises(ValueError, match="churn_risk_discount"):
        Levers(churn_risk_discount=0.95)


def test_yaml_roundtrip_and_bad_file(tmp_path) -> None:
    p = dump_levers(Levers.with_overrides({"promo_half_life": 3}), tmp_path / "levers.yaml")
    assert load_levers(p).promo_half_life == 3
    p.write_text(p.read_text(encoding="utf-8").replace("value: 3", "value: 99"), encoding="utf-8")
    with pytest.raises(LeverError, match=r"levers.yaml: lever promo_half_life=99 is out of its allowed range"):
        load_levers(p)


def test_repo_levers_yaml_is_valid() -> None:
    assert isinstance(load_levers(), Levers)


def make_frame(rng: np.random.Generator, n_series: int = 12, weeks: int = 8, price_up: bool = True) -> pd.DataFrame:
    rows = []
    start = pd.Timestamp("2026-11-23")
    for s in range(n_series):
        for w in range(weeks):
            rows.append({
                "account_manager_id": f"AM{s % 3}", "sku_id": f"SKU{s}", "channel": "distributor" if s % 2 else "direct",
                "region": ["north", "south"][s % 2], "product_line": f"PL{s % 3}",
                "week_start": start + pd.Timedelta(weeks=w), "y_hat": float(rng.uniform(0, 100)),
                "key_share": rng.uniform(0, 1), "delivery_delay_days": rng.uniform(0, 40),
                "material_price_index": rng.uniform(1, 1.5), "project_share": rng.uniform(0, 1),
                "safety_stock_units": rng.uniform(0, 50) if s % 2 else 0.0,
                "promo_lift": rng.uniform(0.1, 0.6) if w % 3 != 2 else 0.0, "weeks_since_promo_start": float(w % 3),
                "price_rel": rng.uniform(1.0, 1.3) if price_up else rng.uniform(0.7, 1.0),
                "weeks_since_launch": float(w + s) if s < 4 else np.nan, "intent_score": rng.uniform(0, 3),
                "capacity_units": rng.uniform(20, 80), "complaint_heat": rng.uniform(0, 3),
                "health_band": ["red", "amber", "green"][s % 3],
            })
    return pd.DataFrame(rows)


FRAME = make_frame(np.random.default_rng(3))
ENGINE = ScenarioEngine.prepare(FRAME)


def test_all_defaults_reproduce_base_exactly() -> None:
    out = ENGINE.apply(Levers())
    assert np.array_equal(out, FRAME["y_hat"].to_numpy())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from([s.name for s in LEVER_SPECS]), a=st.floats(0, 1), b=st.floats(0, 1))
def test_each_lever_moves_only_in_its_direction(name: str, a: float, b: float) -> None:
    s = SPECS[name]
    lo, hi = sorted((s.lo + a * (s.hi - s.lo), s.lo + b * (s.hi - s.lo)))
    y_lo = ENGINE.apply(Levers.with_overrides({name: lo}))
    y_hi = ENGINE.apply(Levers.with_overrides({name: hi}))
    tol = 1e-9 * (1 + np.abs(y_lo))
    if s.direction == "up":
        assert (y_hi >= y_lo - tol).all()
    elif s.direction == "down":
        assert (y_hi <= y_lo + tol).all()
    else:  # spread: horizon totals unchanged, deviations from the series mean grow
        codes = ENGINE.series_code
        assert np.allclose(np.bincount(codes, y_hi), np.bincount(codes, y_lo))
        mu = (np.bincount(codes, y_lo) / np.bincount(codes))[codes]
        assert (np.abs(y_hi - mu) >= np.abs(y_lo - mu) - tol).all()
    if hi - lo > 0.05 * (s.hi - s.lo):
        assert not np.allclose(y_hi, y_lo), f"{name} had no effect between {lo} and {hi}"


def test_price_cut_raises_demand_with_higher_elasticity() -> None:
    f = make_frame(np.random.default_rng(4), price_up=False)
    lo = apply_levers(f, Levers.with_overrides({"price_elasticity": 0.5}))["y_scenario"]
    hi = apply_levers(f, Levers.with_overrides({"price_elasticity": 3}))["y_scenario"]
    assert (hi >= lo).all() and hi.sum() > lo.sum()


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=12, max_size=12))
def test_reconciled_totals_stay_coherent(u: list[float]) -> None:
    lv = Levers.with_overrides({s.name: s.lo + x * (s.hi - s.lo) for s, x in zip(LEVER_SPECS, u, strict=True)})
    res = ENGINE.scenario_frame(lv)
    by_rp = summarize(res)
    by_r = summarize(res, by=("region",))
    total = summarize(res, by=()).iloc[0]
    assert np.isclose(by_rp["y_scenario"].sum(), total["y_scenario"])
    assert np.allclose(by_rp.groupby("region")["y_scenario"].sum().to_numpy(), by_r["y_scenario"].to_numpy())
    assert np.isclose(res["y_scenario"].sum(), total["y_scenario"])
    assert np.isfinite(res["y_scenario"]).all()


def test_known_arithmetic_of_promo_half_life() -> None:
    f = FRAME.iloc[:1].assign(y_hat=100.0, promo_lift=0.5, weeks_since_promo_start=2.0)
    out = apply_levers(f, Levers.with_overrides({"promo_half_life": 4}))["y_scenario"].iloc[0]
    # lift halves every half-life: (1 + .5 * .5^(2/4)) / (1 + .5 * .5^(2/2)) of 100
    assert out == pytest.approx(100 * (1 + 0.5 * 0.5**0.5) / 1.25)
