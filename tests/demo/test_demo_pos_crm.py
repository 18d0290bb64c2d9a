"""CRM sell-through agrees with POS except on the recorded discrepancy cells; the launch case is visible in files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from demo_validate import read_valid


def _weekly(demo: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    bad = pd.read_csv(demo / "truth" / "bad_rows.csv")
    badset = set(zip(bad.file, bad.row, strict=True))
    scans = pd.DataFrame(read_valid(demo, "pos", "scans", badset))
    skus = pd.DataFrame(read_valid(demo, "erp", "skus", badset))
    scans = scans.merge(skus[["sku_id", "barcode"]], on="barcode")
    d = pd.to_datetime(scans.scan_date)
    scans["week_start"] = (d - pd.to_timedelta(d.dt.weekday, unit="D")).dt.strftime("%Y-%m-%d")
    pos = scans.groupby(["store_id", "sku_id", "week_start"]).units.apply(lambda s: sum(int(x) for x in s))
    crm = pd.DataFrame(read_valid(demo, "crm", "sell_through_reports", badset))
    crm = crm.groupby(["store_id", "sku_id", "week_start"]).units_sold.apply(lambda s: sum(int(x) for x in s))
    both = pd.concat([pos.rename("pos"), crm.rename("crm")], axis=1).fillna(0).astype(int).reset_index()
    truth = pd.read_csv(demo / "truth" / "crm_pos_discrepancies.csv", dtype={"week_start": str})
    return both, truth


def test_only_recorded_cells_disagree(demo_small: tuple[Path, dict]) -> None:
    both, truth = _weekly(demo_small[0])
    cells = set(zip(truth.store_id, truth.sku_id, truth.week_start, strict=True))
    both["recorded"] = [k in cells for k in zip(both.store_id, both.sku_id, both.week_start, strict=True)]
    disagree = both[both.pos != both.crm]
    # Precision and recall of "cells that disagree" against the truth are both 1.
    assert disagree.recorded.all(), disagree[~disagree.recorded].head()
    recorded = both[both.recorded]
    assert (recorded.pos != recorded.crm).all()
    assert len(recorded) == len(truth)
    assert set(truth.kind) == {"over_reporting", "timing_shift", "missing_report", "double_count"}
    m = truth.merge(both, on=["store_id", "sku_id", "week_start"])
    assert (m.crm_units == m.crm).all() and (m.pos_units == m.pos).all()
    assert (m[m.kind == "double_count"].crm == 2 * m[m.kind == "double_count"].pos).all()
    assert (m[m.kind == "missing_report"].crm == 0).all()


def test_launch_case_overstates_pos_by_34_6_percent(demo_small: tuple[Path, dict]) -> None:
    demo = demo_small[0]
    both, _ = _weekly(demo)
    lc = json.loads((demo / "truth" / "launch_case.json").read_text(encoding="utf-8"))
    first_month = both[(both.sku_id == lc["sku_id"]) & both.week_start.isin(lc["weeks"])]
    ratio = first_month.crm.sum() / first_month.pos.sum()
    assert abs(ratio - 1.346) < 0.002, ratio
    assert first_month.pos.sum() == lc["pos_units"]
    launched = both[both.sku_id == lc["sku_id"]].week_start.min()
    assert launched == lc["launch_date"]
