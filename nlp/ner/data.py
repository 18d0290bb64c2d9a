"""CLUENER for the NER: the label set, reading the jsonl, and the fixed train/dev/test split every model is
scored on."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

CLUENER_LABELS = [
    "address", "book", "company", "game", "government",
    "movie", "name", "organization", "position", "scene",
]
SPLIT_SEED = 2020  # fixed so that every model is scored on the same held-out sentences
DEV_FRACTION = 0.1
TEST_FRACTION = 0.1


@dataclass
class Example:
    text: str
    spans: list[tuple[int, int, str]]  # char start, end (exclusive), label


def load_cluener(path: Path) -> list[Example]:
    """Read CLUENER jsonl (inclusive end offsets) into examples with exclusive ends."""
    if not path.exists():
        raise FileNotFoundError(f"CLUENER train file not found: {path}")
    out: list[Example] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                spans = [
                    (s, e + 1, label)
                    for label, ents in row.get("label", {}).items()
                    for _ent, offsets in ents.items()
                    for s, e in offsets
                ]
                out.append(Example(row["text"], sorted(spans)))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: bad CLUENER row ({exc})") from exc
    return out


def split_examples(examples: list[Example]) -> tuple[list[Example], list[Example], list[Example]]:
    """Deterministic train/dev/test split of CLUENER's train set (seed SPLIT_SEED)."""
    idx = list(range(len(examples)))
    random.Random(SPLIT_SEED).shuffle(idx)
    n_test = int(len(idx) * TEST_FRACTION)
    n_dev = int(len(idx) * DEV_FRACTION)
    test = [examples[i] for i in idx[:n_test]]
    dev = [examples[i] for i in idx[n_test:n_test + n_dev]]
    train = [examples[i] for i in idx[n_test + n_dev:]]
    return train, dev, test
