"""Exact-match entity scores, per label, micro and macro."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from nlp.ner.data import CLUENER_LABELS


def score_spans(gold: list[list[tuple[int, int, str]]], pred: list[list[tuple[int, int, str]]],
                labels: list[str] = CLUENER_LABELS) -> dict[str, Any]:
    """Exact-match entity P/R/F per label, micro and macro (mean of per-label F1)."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for g, p in zip(gold, pred, strict=True):
        gs, ps = set(g), set(p)
        for s in ps:
            (tp if s in gs else fp)[s[2]] += 1
        for s in gs - ps:
            fn[s[2]] += 1

    def prf(t: int, f_p: int, f_n: int) -> dict[str, float]:
        p = t / (t + f_p) if t + f_p else 0.0
        r = t / (t + f_n) if t + f_n else 0.0
        return {"p": p, "r": r, "f": 2 * p * r / (p + r) if p + r else 0.0}

    per_label = {lab: prf(tp[lab], fp[lab], fn[lab]) for lab in labels}
    micro = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return {
        "micro_f1": micro["f"], "micro_p": micro["p"], "micro_r": micro["r"],
        "macro_f1": float(np.mean([v["f"] for v in per_label.values()])),
        "per_label": per_label,
    }
