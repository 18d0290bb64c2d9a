"""What the NER sees per character: char and left/right bigram ids (the vocabulary) and lexicon flags from
jieba's shipped dictionary (is this character the Begin/Middle/End of a dictionary word tagged person/place/
org/...); the flags stand in for pretrained embeddings, which cannot be downloaded here. Also the BIO tags
and their conversion to and from entity spans."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlp.ner.data import Example

MAX_WORD_LEN = 8
# jieba POS tag prefix -> lexicon category (order matters: longest prefixes first)
_POS_CATEGORIES = [("nr", 0), ("ns", 1), ("nt", 2), ("nz", 3), ("n", 4), ("v", 5)]
N_LEX_CAT = 7
N_LEX = 3 * N_LEX_CAT  # B/M/E x category


_LEXICON: dict[str, int] | None = None


def jieba_lexicon() -> dict[str, int]:
    """word -> category index, from jieba's packaged dict.txt (no download)."""
    global _LEXICON
    if _LEXICON is None:
        import jieba

        lex: dict[str, int] = {}
        dict_path = Path(jieba.__file__).parent / "dict.txt"
        with dict_path.open(encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 3 or not (2 <= len(parts[0]) <= MAX_WORD_LEN):
                    continue
                pos = parts[2]
                cat = next((c for p, c in _POS_CATEGORIES if pos.startswith(p)), 6)
                lex[parts[0]] = cat
        _LEXICON = lex
    return _LEXICON


def lexicon_features(text: str) -> np.ndarray:
    lex = jieba_lexicon()
    feats = np.zeros((len(text), N_LEX), dtype=np.float32)
    n = len(text)
    for i in range(n):
        for length in range(2, min(MAX_WORD_LEN, n - i) + 1):
            cat = lex.get(text[i:i + length])
            if cat is None:
                continue
            feats[i, cat] = 1.0  # B
            feats[i + length - 1, 2 * N_LEX_CAT + cat] = 1.0  # E
            for j in range(i + 1, i + length - 1):
                feats[j, N_LEX_CAT + cat] = 1.0  # M
    return feats


@dataclass
class Vocab:
    chars: dict[str, int] = field(default_factory=dict)
    bigrams: dict[str, int] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, examples: list[Example], labels: list[str], min_bigram: int = 2,
              extra_chars: Any = (), extra_bigrams: Any = ()) -> Vocab:
        """Chars of the examples and their bigrams seen min_bigram times, plus the keys of pretrained vectors
        (extra_*): those have useful rows even when the labelled data never shows them."""
        cc = Counter(ch for ex in examples for ch in ex.text)
        bc = Counter(b for ex in examples for b in char_bigrams(ex.text))
        chars = {"<pad>": 0, "<unk>": 1}
        for ch in sorted(set(cc) | set(extra_chars)):
            chars[ch] = len(chars)
        bigrams = {"<pad>": 0, "<unk>": 1}
        for b in sorted({b for b, n in bc.items() if n >= min_bigram} | set(extra_bigrams)):
            bigrams[b] = len(bigrams)
        tags = ["O"] + [f"{p}-{label}" for label in labels for p in ("B", "I")]
        return cls(chars, bigrams, tags)

    def to_json(self) -> dict[str, Any]:
        return {"chars": self.chars, "bigrams": self.bigrams, "tags": self.tags}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Vocab:
        return cls(data["chars"], data["bigrams"], data["tags"])


def char_bigrams(text: str) -> list[str]:
    """Bigrams with sentence boundary marks: the model's and the pretrained vectors' (nlp.embeddings) keys."""
    padded = f"\x02{text}\x03"
    return [padded[i:i + 2] for i in range(len(padded) - 1)]


def encode_ids(text: str, vocab: Vocab) -> tuple[list[int], list[int], list[int]]:
    """Char ids and left/right bigram ids of a text (unknown -> 1)."""
    bg = char_bigrams(text)
    chars = [vocab.chars.get(ch, 1) for ch in text]
    left = [vocab.bigrams.get(b, 1) for b in bg[:-1]]
    right = [vocab.bigrams.get(b, 1) for b in bg[1:]]
    return chars, left, right


def encode_text(text: str, vocab: Vocab) -> tuple[list[int], list[int], list[int], np.ndarray]:
    return (*encode_ids(text, vocab), lexicon_features(text))


def spans_to_tags(ex: Example, vocab: Vocab) -> list[int]:
    index = {t: i for i, t in enumerate(vocab.tags)}
    tags = [0] * len(ex.text)
    for s, e, label in ex.spans:
        if f"B-{label}" not in index:
            continue
        tags[s] = index[f"B-{label}"]
        for i in range(s + 1, e):
            tags[i] = index[f"I-{label}"]
    return tags


def tags_to_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    start, label = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        if tag.startswith("I-") and start >= 0 and tag[2:] == label:
            continue
        if start >= 0:
            spans.append((start, i, label))
            start = -1
        if tag.startswith(("B-", "I-")):  # a stray I- starts a new entity rather than being dropped
            start, label = i, tag[2:]
    return spans
