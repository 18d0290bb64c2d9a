"""The forecast oracle: truth/expected_demand.csv.gz holds the demand model's noise-free expectation per
grain series (account manager x SKU x channel) and week, and it agrees with what was actually shipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def test_oracle_file_is_the_expectation_of_shipped_units(demo_small: tuple[Path, dict]) -> None:
    out, _ = demo_small
    e = pd.read_csv(out / "truth" / "expected_demand.csv.gz")
    assert list(e.columns) == ["account_manager_id", "sku_id", "channel", "week_start", "expected_units"]
    assert not e.duplicated(["account_manager_id", "sku_id", "channel", "week_start"]).any()
    assert (e["expected_units"] > 0).all() and e["expected_units"].notna().all()
    assert set(e["channel"]) == {"direct", "distributor", "ecommerce", "retail", "tender"}
    # Never a feed: nothing under drops/ or api/ carries the expectation.
    assert not any("expected" in p.name for p in (out / "drops").rglob("*"))
    shipped = pd.read_csv(out / "truth" / "weekly_units_by_channel.csv").set_index("week_start")
    expected = e.groupby(["week_start", "channel"])["expected_units"].sum().unstack().reindex(shipped.index).fillna(0)
    # Shipped = Poisson draws of the expectation (after capacity cuts and stockouts), rounded down.
    ratio = shipped.sum() / expected[shipped.columns].sum()
    assert ratio.between(0.93, 1.02).all(), ratio
    weekly = np.corrcoef(shipped.sum(axis=1), expected.sum(axis=1))[0, 1]
    assert weekly > 0.8, weekly
