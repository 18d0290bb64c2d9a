"""The cross-sectional hierarchy (grain -> SKU -> product line, account manager -> cluster -> region -> total),
its summing matrix, and reconciliation of base forecasts through hierarchicalforecast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from hierarchicalforecast.methods import BottomUp, MinTrace

from ml.schema import BOTTOM_LEVEL, HIERARCHY_COLS, KEY_COLS, LEVELS, SERIES_ID


@dataclass
class Hierarchy:
    """All nodes, top levels first and grain last (the order hierarchicalforecast expects)."""

    nodes: pd.DataFrame  # columns: level, node_id, n_bottom
    S: np.ndarray  # (n_nodes, n_bottom) summing matrix
    bottom: pd.DataFrame  # one row per grain series: unique_id + key + hierarchy columns

    @property
    def n_bottom(self) -> int:
        return self.S.shape[1]

    @property
    def level_codes(self) -> np.ndarray:
        return pd.Categorical(self.nodes["level"], categories=list(LEVELS)).codes.astype(float)

    def level_mask(self, level: str) -> np.ndarray:
        return (self.nodes["level"] == level).to_numpy()


def _node_ids(frame: pd.DataFrame, cols: tuple[str, ...]) -> pd.Series:
    if not cols:
        return pd.Series("total", index=frame.index)
    out = frame[cols[0]].astype(str)
    for c in cols[1:]:
        out = out + "/" + frame[c].astype(str)
    return out


def build_hierarchy(bottom: pd.DataFrame) -> Hierarchy:
    """Summing matrix for the grouped hierarchy from one row per grain series (vectorised one-hot)."""
    bottom = bottom.sort_values(SERIES_ID).reset_index(drop=True)
    n_b = len(bottom)
    blocks, node_frames = [], []
    for level, cols in LEVELS.items():
        if level == BOTTOM_LEVEL:
            ids = bottom[SERIES_ID]
        else:
            ids = _node_ids(bottom, cols)
        codes, uniques = pd.factorize(ids, sort=True)
        block = np.zeros((len(uniques), n_b))
        block[codes, np.arange(n_b)] = 1.0
        blocks.append(block)
        node_frames.append(pd.DataFrame({"level": level, "node_id": np.asarray(uniques, dtype=object)}))
    S = np.vstack(blocks)
    nodes = pd.concat(node_frames, ignore_index=True)
    nodes["n_bottom"] = S.sum(axis=1).astype(int)
    keep = [SERIES_ID, *KEY_COLS, *HIERARCHY_COLS]
    return Hierarchy(nodes=nodes, S=S, bottom=bottom[keep])


def reconcile(base: np.ndarray, hierarchy: Hierarchy, method: str) -> np.ndarray:
    """Coherent forecasts (n_nodes, horizon) from base forecasts of every node.

    method: bottom_up | mint_ols | mint_wls_struct (MinTrace variants that need no in-sample residuals,
    so they work on the direct multi-horizon model without refitting).
    """
    S = hierarchy.S
    if base.shape[0] != S.shape[0]:
        raise ValueError(f"base forecasts have {base.shape[0]} rows, hierarchy has {S.shape[0]} nodes")
    if method == "bottom_up":
        res = BottomUp().fit_predict(S=S, y_hat=base)
    elif method == "mint_ols":
        res = MinTrace(method="ols").fit_predict(S=S, y_hat=base)
    elif method == "mint_wls_struct":
        res = MinTrace(method="wls_struct").fit_predict(S=S, y_hat=base)
    else:
        raise ValueError(f"unknown reconciliation method {method!r}")
    return np.asarray(res["mean"], dtype=float)
