"""The levers page's engine: ml.scenario's ScenarioEngine prepared once per snapshot, plus index arrays so a
re-forecast and its 13-week totals by region / product line / channel are a few vectorised numpy passes.

The interval band of an aggregate is the sum of its series' 80% bounds, scaled row by row by the scenario's
change: a conservative band (summing quantiles assumes the series move together), labelled as such on the page.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lodestar.warehouse import Warehouse
from ml.levers import Levers
from ml.scenario import ScenarioEngine, load_scenario_frame, write_scenario

DIMENSIONS = ("region", "product_line", "channel")


@dataclass
class PreparedForecast:
    engine: ScenarioEngine
    weeks: list[str]
    week_idx: np.ndarray
    dims: dict[str, tuple[list[str], np.ndarray]]  # dimension -> (labels, code per row)
    am: np.ndarray  # account manager id per row
    lo_ratio: np.ndarray  # lo80 / y_hat per row (1 where unknown)
    hi_ratio: np.ndarray
    origin_week: str

    @classmethod
    def build(cls, warehouse: Warehouse) -> PreparedForecast:
        frame = load_scenario_frame(warehouse)
        engine = ScenarioEngine.prepare(frame)
        f = engine.frame
        weeks = sorted(pd.to_datetime(f["week_start"]).dt.strftime("%Y-%m-%d").unique())
        week_idx = pd.Categorical(pd.to_datetime(f["week_start"]).dt.strftime("%Y-%m-%d"), categories=weeks).codes
        dims = {}
        for d in DIMENSIONS:
            values = f[d].fillna("unknown").astype(str)
            labels = sorted(values.unique())
            dims[d] = (labels, pd.Categorical(values, categories=labels).codes.astype(np.int64))
        lo = np.ones(len(f))
        hi = np.ones(len(f))
        bounds = _bounds(warehouse)
        if bounds is not None:
            key = ["account_manager_id", "sku_id", "channel", "week_start"]
            m = f[key].assign(week_start=pd.to_datetime(f["week_start"])).merge(
                bounds.assign(week_start=pd.to_datetime(bounds["week_start"])), on=key, how="left")
            y = engine.base
            with np.errstate(divide="ignore", invalid="ignore"):
                lo = np.where(y > 0, m["lo80"].to_numpy(float) / y, 1.0)
                hi = np.where(y > 0, m["hi80"].to_numpy(float) / y, 1.0)
            lo = np.nan_to_num(lo, nan=1.0)
            hi = np.nan_to_num(hi, nan=1.0)
        origin = warehouse.query("select max(origin_week)::varchar as o from raw.forecast_predictions")["o"].iloc[0]
        return cls(engine, weeks, week_idx.astype(np.int64), dims, f["account_manager_id"].astype(str).to_numpy(),
                   lo, hi, str(origin))

    def mask_for(self, account_manager_id: str | None) -> np.ndarray | None:
        return None if account_manager_id is None else self.am == account_manager_id

    def totals(self, levers: Levers, account_manager_id: str | None = None) -> dict:
        """Base and scenario per dimension value x week (with the 80% band), and the grand totals."""
        y_scen = self.engine.apply(levers)
        y_base = self.engine.base
        mask = self.mask_for(account_manager_id)
        w = np.ones_like(y_base) if mask is None else mask.astype(float)
        nw = len(self.weeks)
        out: dict = {"weeks": self.weeks, "origin_week": self.origin_week, "by": {}}
        series = {"base": y_base * w, "scenario": y_scen * w, "lo": y_scen * self.lo_ratio * w,
                  "hi": y_scen * self.hi_ratio * w}
        for d, (labels, codes) in self.dims.items():
            idx = codes * nw + self.week_idx
            n = len(labels) * nw
            sums = {k: np.bincount(idx, v, n).reshape(len(labels), nw) for k, v in series.items()}
            keep = np.bincount(codes, w, len(labels)) > 0  # a manager sees only the groups their series fall in
            out["by"][d] = [{"key": labels[i], **{k: np.round(sums[k][i], 2).tolist() for k in sums},
                             "total_base": round(float(sums["base"][i].sum()), 2),
                             "total_scenario": round(float(sums["scenario"][i].sum()), 2)}
                            for i in range(len(labels)) if keep[i]]
        tb, ts = float(series["base"].sum()), float(series["scenario"].sum())
        out["total"] = {"base": round(tb, 2), "scenario": round(ts, 2), "delta": round(ts - tb, 2),
                        "delta_pct": round(100 * (ts - tb) / tb, 3) if tb else None}
        out["series"] = int(len(np.unique(self.engine.series_code[mask])) if mask is not None else self.engine.n_series)
        return out

    def save(self, warehouse: Warehouse, name: str, levers: Levers) -> int:
        """Write scenario ``name`` through ml.scenario's own writer (the CLI's and the launchpad's object)."""
        return write_scenario(warehouse, name, levers, self.engine.scenario_frame(levers))


def _bounds(warehouse: Warehouse) -> pd.DataFrame | None:
    if not warehouse.table_exists("staging", "stg_forecast__predictions"):
        return None
    cols = set(warehouse.query("select column_name from information_schema.columns where table_schema = 'staging' "
                               "and table_name = 'stg_forecast__predictions'")["column_name"])
    if not {"lo80", "hi80", "origin_week"} <= cols:
        return None
    return warehouse.query("""
        select account_manager_id, sku_id, channel, cast(week_start as date) as week_start, lo80, hi80
        from staging.stg_forecast__predictions
        where origin_week = (select max(origin_week) from staging.stg_forecast__predictions)""")


class ForecastCache:
    """One PreparedForecast per snapshot id, built on first use (the lock keeps concurrent requests from building
    it twice)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: str | None = None
        self._value: PreparedForecast | None = None

    def get(self, snapshot_id: str, warehouse: Warehouse) -> PreparedForecast:
        with self._lock:
            if self._key != snapshot_id or self._value is None:
                self._value = PreparedForecast.build(warehouse)
                self._key = snapshot_id
            return self._value

    def rekey(self, old_id: str, new_id: str) -> None:
        """Carry the prepared engine over to a snapshot that differs only in tables the engine does not read."""
        with self._lock:
            if self._key == old_id:
                self._key = new_id
