"""Meeting-note sentiment by a lexicon method: jieba tokens scored against shipped positive/negative word
lists, with negation (不/没/未… flip the next sentiment word within 3 tokens) and degree adverbs (很/非常 x1.5,
有点/稍 x0.6). Score = tanh(sum / 2) in [-1, 1]; label positive > 0.2, negative < -0.2, else neutral."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import jieba
import pandas as pd

RESOURCES = Path(__file__).parent / "resources"
NEGATIONS = {"不", "没", "没有", "未", "无", "非", "别", "不太", "并不", "从不", "毫无", "尚未", "不再", "不够"}
DEGREE = {"很": 1.5, "非常": 1.8, "特别": 1.7, "极其": 2.0, "十分": 1.6, "相当": 1.4, "更加": 1.3, "太": 1.5,
          "比较": 1.1, "较": 1.1, "有点": 0.6, "有些": 0.6, "稍": 0.6, "稍微": 0.6, "略": 0.6, "严重": 1.6}
POS_THRESHOLD = 0.2
LABELS = ("negative", "neutral", "positive")


@lru_cache(maxsize=1)
def lexicon() -> tuple[frozenset[str], frozenset[str]]:
    def read(name: str) -> frozenset[str]:
        words = (RESOURCES / name).read_text(encoding="utf-8").split()
        return frozenset(w for w in words if not w.startswith("#"))

    pos, neg = read("sentiment_positive.txt"), read("sentiment_negative.txt")
    for w in pos | neg | set(DEGREE) | NEGATIONS:
        jieba.add_word(w)  # keep lexicon words whole when segmenting
    return pos, neg


def _score_one(text: str) -> float:
    pos, neg = lexicon()
    tokens = [t for t in jieba.lcut(str(text)) if t.strip()]
    total = 0.0
    for i, tok in enumerate(tokens):
        polarity = 1.0 if tok in pos else -1.0 if tok in neg else 0.0
        if not polarity:
            continue
        weight = 1.0
        window = tokens[max(0, i - 3):i]
        for prev in window:
            if prev in DEGREE:
                weight *= DEGREE[prev]
        negated = sum(1 for prev in window if prev in NEGATIONS) % 2 == 1
        # a negated negative ("没有问题") is mildly positive, a negated positive clearly negative
        total += polarity * weight * (-0.6 if negated and polarity < 0 else -1.0 if negated else 1.0)
    return math.tanh(total / 2.0)


def label_for(score: float) -> str:
    return "positive" if score > POS_THRESHOLD else "negative" if score < -POS_THRESHOLD else "neutral"


def score_sentiment(texts: Sequence[str]) -> pd.DataFrame:
    """One row per text: score in [-1, 1] and label (negative/neutral/positive)."""
    scores = [_score_one(t) for t in texts]
    return pd.DataFrame({"text": list(texts), "score": [round(s, 4) for s in scores],
                         "label": [label_for(s) for s in scores]})


def sentiment_accuracy(predicted: Sequence[str], truth: Sequence[str]) -> dict[str, float]:
    """Accuracy and per-label recall of predicted labels against true labels (same order)."""
    if len(predicted) != len(truth):
        raise ValueError(f"predicted has {len(predicted)} labels but truth has {len(truth)}")
    if not truth:
        raise ValueError("no labels to score")
    out = {"accuracy": sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth), "n": float(len(truth))}
    for label in LABELS:
        idx = [i for i, t in enumerate(truth) if t == label]
        if idx:
            out[f"recall_{label}"] = sum(predicted[i] == label for i in idx) / len(idx)
    return out
